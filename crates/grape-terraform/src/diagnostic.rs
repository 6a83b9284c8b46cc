//! Terraform diagnostics (errors and warnings), as found in `-json` UI messages, in
//! `validate -json` output and, for commands without `-json`, parsed from the text on stderr.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The command failed because of it.
    Error,
    /// Worth reading; the command went on.
    Warning,
    /// A severity this crate does not know.
    #[serde(other)]
    Unknown,
}

/// A position in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
    /// Byte offset, from 0.
    #[serde(default)]
    pub byte: u64,
}

/// The part of a configuration file a diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// File name, relative to the working directory.
    pub filename: String,
    /// Where it starts.
    pub start: Pos,
    /// Where it ends.
    pub end: Pos,
}

/// The source code around a diagnostic's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// The enclosing block, e.g. `resource "terraform_data" "a"`.
    #[serde(default)]
    pub context: Option<String>,
    /// The code of the lines in the range.
    #[serde(default)]
    pub code: String,
    /// Line number of the first line of `code`.
    #[serde(default)]
    pub start_line: u64,
}

/// One error or warning reported by Terraform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One-line summary, e.g. `Unsupported argument`.
    pub summary: String,
    /// Longer explanation; may be empty.
    #[serde(default)]
    pub detail: String,
    /// Resource address the diagnostic is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Where in the configuration, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// The source code around `range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
}

impl Diagnostic {
    /// An error diagnostic with only a summary and a detail.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            address: None,
            range: None,
            snippet: None,
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as Terraform prints it: `Error: summary`, the location, then the detail.
    pub fn render_lines(&self) -> Vec<String> {
        let label = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
            Severity::Unknown => "Diagnostic",
        };
        let mut lines = vec![format!("{label}: {}", self.summary)];
        if let Some(range) = &self.range {
            let mut on = format!("  on {} line {}", range.filename, range.start.line);
            if let Some(ctx) = self.snippet.as_ref().and_then(|s| s.context.as_deref()) {
                on.push_str(", in ");
                on.push_str(ctx);
            }
            on.push(':');
            lines.push(on);
            if let Some(snippet) = &self.snippet {
                for (i, code) in snippet.code.lines().enumerate() {
                    lines.push(format!("  {:>4}: {code}", snippet.start_line + i as u64));
                }
            }
        }
        if let Some(address) = &self.address {
            lines.push(format!("  with {address}"));
        }
        lines.extend(
            self.detail
                .lines()
                .map(|l| format!("  {l}").trim_end().to_owned()),
        );
        lines
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(address) = &self.address {
            write!(f, "{address}: ")?;
        }
        f.write_str(&self.summary)?;
        let detail = self.detail.trim();
        if !detail.is_empty() {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// Parses diagnostics from Terraform's human output (stderr of commands run without `-json`):
/// blocks starting with `Error: ` or `Warning: `, whose following lines (minus the source
/// location and snippet) make the detail.
pub fn parse_text_diagnostics(lines: &[String]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut current: Option<(Diagnostic, Vec<String>)> = None;
    for line in lines {
        let trimmed = line.trim_start_matches(['│', '╷', '╵', ' ']);
        let start = trimmed
            .strip_prefix("Error: ")
            .map(|s| (Severity::Error, s))
            .or_else(|| {
                trimmed
                    .strip_prefix("Warning: ")
                    .map(|s| (Severity::Warning, s))
            });
        if let Some((severity, summary)) = start {
            if let Some((d, detail)) = current.take() {
                out.push(finish(d, &detail));
            }
            let mut d = Diagnostic::error(summary.trim(), "");
            d.severity = severity;
            current = Some((d, Vec::new()));
        } else if let Some((_, detail)) = current.as_mut() {
            let is_location = trimmed.starts_with("on ") && trimmed.ends_with(':');
            let is_snippet = trimmed.split_once(':').is_some_and(|(n, _)| {
                !n.is_empty() && n.trim().chars().all(|c| c.is_ascii_digit())
            });
            if !is_location && !is_snippet {
                detail.push(trimmed.trim_end().to_owned());
            }
        }
    }
    if let Some((d, detail)) = current.take() {
        out.push(finish(d, &detail));
    }
    out
}

fn finish(mut d: Diagnostic, detail: &[String]) -> Diagnostic {
    detail.join("\n").trim().clone_into(&mut d.detail);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_diagnostics_are_parsed() {
        let lines: Vec<String> = [
            "",
            "Error: Unsupported argument",
            "",
            "  on main.tf line 3, in resource \"terraform_data\" \"a\":",
            "   3:   nope = 1",
            "",
            "An argument named \"nope\" is not expected here.",
            "Warning: Something",
            "more",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let d = parse_text_diagnostics(&lines);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].summary, "Unsupported argument");
        assert_eq!(
            d[0].detail,
            "An argument named \"nope\" is not expected here."
        );
        assert!(d[0].is_error());
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(d[1].detail, "more");
    }

    #[test]
    fn display_joins_address_summary_detail() {
        let mut d = Diagnostic::error("bad", "very bad");
        d.address = Some("terraform_data.a".into());
        assert_eq!(d.to_string(), "terraform_data.a: bad: very bad");
    }
}
