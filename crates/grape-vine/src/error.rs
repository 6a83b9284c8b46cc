//! Errors of reading and rendering a vine.

/// One thing wrong with a vine: where (a field path such as `cluster.node_max_size`, `(root)`
/// for the document itself) and what is allowed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field path, dotted, with `[i]` for list items.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a vine could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VineError {
    /// The text is not YAML or JSON at all.
    #[error("invalid vine: not valid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message (with its line and column).
        message: String,
    },
    /// The document has the wrong shape or invalid values; every problem found is listed.
    #[error("invalid vine: {}", join(.problems))]
    Invalid {
        /// The problems, in field order (at least one).
        problems: Vec<Problem>,
    },
}

impl VineError {
    /// The problems of an [`VineError::Invalid`] (empty for a syntax error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems } => problems,
            Self::Syntax { .. } => &[],
        }
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
