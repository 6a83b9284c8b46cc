//! Secret redaction: a shared, growable set of secrets replaced by [`REDACTED`].

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What every secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this (in bytes) are ignored: they would shred the log.
pub const MIN_SECRET_LEN: usize = 6;

/// RFC 3986 component encoding: everything but the unreserved characters.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A shared set of secrets; every clone sees the same set (an `Arc` inside, cheap to clone).
///
/// For each secret it also registers its base64 (standard and URL-safe, with and without
/// padding), percent-encoded and JSON-escaped forms. Matches are replaced leftmost-longest, so a
/// longer secret wins over a shorter one that it contains. With no secret registered,
/// [`Redactor::redact`] returns the text borrowed without scanning it.
///
/// Secrets split across separate reads of a pipe: [`crate::Command`] buffers whole lines before
/// redacting them, so a secret written in pieces is still redacted as long as it does not contain
/// a newline. Lines longer than the line buffer are cut only where no secret can straddle the cut.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// The secrets as given (count reported by `len`).
    secrets: BTreeSet<String>,
    /// Every form of every secret.
    patterns: BTreeSet<String>,
    matcher: Option<AhoCorasick>,
    longest: usize,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret (and its encoded forms). Values shorter than [`MIN_SECRET_LEN`] bytes
    /// are ignored; registering the same value twice is harmless.
    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if !inner.secrets.insert(secret.to_owned()) {
            return;
        }
        for form in forms(secret) {
            if form.len() >= MIN_SECRET_LEN {
                inner.patterns.insert(form);
            }
        }
        inner.longest = inner.patterns.iter().map(String::len).max().unwrap_or(0);
        inner.matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(inner.patterns.iter())
            .ok();
    }

    /// Number of secrets registered (not counting their encoded forms).
    pub fn len(&self) -> usize {
        self.read().secrets.len()
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.read().secrets.is_empty()
    }

    /// Length in bytes of the longest registered form (0 when empty).
    pub fn longest(&self) -> usize {
        self.read().longest
    }

    /// Replaces every registered secret (in any of its forms) with [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let inner = self.read();
        match &inner.matcher {
            Some(m) if m.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(REDACTED);
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Redacts every string (and object key) inside a JSON value, in place.
    pub fn redact_json(&self, v: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        self.redact_json_inner(v);
    }

    fn redact_json_inner(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_json_inner(i)),
            Value::Object(map) => {
                let needs_rekey = map.keys().any(|k| matches!(self.redact(k), Cow::Owned(_)));
                if needs_rekey {
                    let old = std::mem::take(map);
                    for (k, val) in old {
                        map.insert(self.redact(&k).into_owned(), val);
                    }
                }
                map.values_mut().for_each(|i| self.redact_json_inner(i));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Where a partial text (more may follow) can be cut so that no secret straddles the cut:
    /// returns a char boundary `cut` such that `text[..cut]` can be redacted and emitted on its
    /// own and `text[cut..]` kept for later. May return 0.
    pub(crate) fn safe_cut(&self, text: &str) -> usize {
        let inner = self.read();
        let Some(m) = &inner.matcher else {
            return text.len();
        };
        // A secret starting at or after `cut` is entirely in the kept part, or will be once more
        // text arrives; a secret starting before it ends before the end of `text`.
        let mut cut = text.len().saturating_sub(inner.longest.saturating_sub(1));
        for found in m.find_iter(text) {
            if found.start() < cut && found.end() > cut {
                cut = found.end();
            }
            if found.start() >= cut {
                break;
            }
        }
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        cut
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The plain secret and its encoded forms.
fn forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(secret)
        .to_owned();
    vec![
        secret.to_owned(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        utf8_percent_encode(secret, URL_COMPONENT).to_string(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        json,
    ]
}

/// True for environment variable names that hold secrets by convention: ending (case-insensitive)
/// in `_TOKEN`, `_SECRET`, `_PASSWORD` or `_KEY` (e.g. `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `INFRACOST_API_KEY`).
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["_TOKEN", "_SECRET", "_PASSWORD", "_KEY"]
        .iter()
        .any(|suffix| upper.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_forms() {
        let r = Redactor::new();
        let secret = "s3cr3t/value+x y";
        r.add(secret);
        assert_eq!(r.len(), 1);
        for form in forms(secret) {
            let text = format!("before {form} after");
            assert_eq!(r.redact(&text), "before [REDACTED] after", "form {form}");
        }
    }

    #[test]
    fn short_values_ignored_and_no_secret_borrows() {
        let r = Redactor::new();
        r.add("abc");
        assert!(r.is_empty());
        assert!(matches!(r.redact("abc def"), Cow::Borrowed(_)));
        r.add("abcdef");
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
        assert_eq!(r.redact("xabcdefx"), "x[REDACTED]x");
    }

    #[test]
    fn longest_first_and_clones_share() {
        let r = Redactor::new();
        let clone = r.clone();
        clone.add("token123");
        clone.add("token123456");
        assert_eq!(r.redact("a token123456 b"), "a [REDACTED] b");
        assert_eq!(r.redact("a token123 b"), "a [REDACTED] b");
    }

    #[test]
    fn json_values_and_keys() {
        let r = Redactor::new();
        r.add("hunter2hunter2");
        let mut v = serde_json::json!({"a": ["x hunter2hunter2", 1], "hunter2hunter2": {"b": "hunter2hunter2"}});
        r.redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x [REDACTED]", 1], "[REDACTED]": {"b": "[REDACTED]"}})
        );
    }

    #[test]
    fn safe_cut_never_splits_a_secret() {
        let r = Redactor::new();
        r.add("abcdefgh");
        let text = "0123456789abcdef";
        let cut = r.safe_cut(text);
        assert!(cut <= 10, "cut {cut}");
        let text = "0123456789abcdefgh";
        let cut = r.safe_cut(text);
        assert!(cut == 18 || cut <= 10, "cut {cut}");
        assert_eq!(Redactor::new().safe_cut(text), text.len());
    }

    #[test]
    fn secret_env_names() {
        for n in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "db_password",
            "X_SECRET",
            "api_key",
        ] {
            assert!(is_secret_env_name(n), "{n}");
        }
        for n in ["PATH", "HOME", "TOKEN", "KEYS", "MY_TOKENS"] {
            assert!(!is_secret_env_name(n), "{n}");
        }
    }
}
