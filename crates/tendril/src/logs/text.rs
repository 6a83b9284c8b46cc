//! Sizes of log lines as they travel in a batch body.

/// JSON overhead of one line besides its text (`seq`, `ts`, `stream`, braces, quotes).
pub(crate) const LINE_OVERHEAD: usize = 96;

/// Bytes of `text` once JSON-escaped (the quotes excluded), as serde_json writes it.
pub(crate) fn json_text_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// Estimated size of a line in a batch body (also what the memory bounds count).
pub(crate) fn line_size(text: &str) -> usize {
    json_text_len(text) + LINE_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_matches_serde() {
        let text = "a\"b\\c\nd\te\u{1}f\u{7f}é";
        let encoded = serde_json::to_string(text).unwrap();
        assert_eq!(json_text_len(text), encoded.len() - 2);
    }
}
