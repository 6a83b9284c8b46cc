//! Answers of Google APIs: JSON bodies, and the two error shapes they send — OAuth's
//! `{"error": "invalid_grant", "error_description": …}` (STS) and AIP-193's
//! `{"error": {"code": 403, "message": …, "status": "PERMISSION_DENIED"}}` (IAM, Compute, DNS).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest answer read (a page of a list is far smaller).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// A Google API error: HTTP status, a code (OAuth `error`, or AIP-193 `status`) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoogleError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for GoogleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl GoogleError {
    fn local(message: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: "invalid_answer".into(),
            message: message.into(),
        }
    }

    /// Reads an error body of either shape (lenient: Compute may leave `status` out).
    pub(crate) fn from_body(status: u16, body: &[u8]) -> Self {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let (code, message) = match parsed.get("error") {
            Some(Value::String(code)) => (
                code.clone(),
                parsed
                    .get("error_description")
                    .and_then(text)
                    .unwrap_or_default(),
            ),
            Some(obj @ Value::Object(_)) => (
                obj.get("status")
                    .and_then(text)
                    .or_else(|| obj.pointer("/errors/0/reason").and_then(text))
                    .unwrap_or_else(|| format!("HTTP_{status}")),
                obj.get("message").and_then(text).unwrap_or_default(),
            ),
            _ => (
                format!("HTTP_{status}"),
                String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            ),
        };
        Self {
            status,
            code,
            message,
        }
    }
}

/// The body of a successful answer as `T`, or the error it carries.
pub(crate) async fn read_json<T: DeserializeOwned>(
    answer: reqwest::Response,
) -> Result<T, GoogleError> {
    let status = answer.status().as_u16();
    let body = answer
        .bytes()
        .await
        .map_err(|e| GoogleError::local(format!("reading the answer failed: {e}")))?;
    if body.len() > MAX_ANSWER_BYTES {
        return Err(GoogleError::local(format!(
            "the answer is larger than {MAX_ANSWER_BYTES} bytes"
        )));
    }
    if !(200..300).contains(&status) {
        return Err(GoogleError::from_body(status, &body));
    }
    serde_json::from_slice(&body)
        .map_err(|e| GoogleError::local(format!("the answer is not what was expected: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_are_read() {
        let oauth = GoogleError::from_body(
            400,
            br#"{"error":"invalid_target","error_description":"The target service indicated by the \"audience\" parameters is invalid."}"#,
        );
        assert_eq!(oauth.code, "invalid_target");
        assert!(oauth.message.contains("audience"));
        let aip = GoogleError::from_body(
            403,
            br#"{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied","status":"PERMISSION_DENIED"}}"#,
        );
        assert_eq!(aip.code, "PERMISSION_DENIED");
        let compute = GoogleError::from_body(
            403,
            br#"{"error":{"code":403,"message":"Required 'compute.networks.list' permission","errors":[{"reason":"forbidden"}]}}"#,
        );
        assert_eq!(compute.code, "forbidden");
        let html = GoogleError::from_body(502, b"<html>bad gateway</html>");
        assert_eq!(html.code, "HTTP_502");
    }
}
