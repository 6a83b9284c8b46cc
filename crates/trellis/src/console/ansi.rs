//! ANSI colours of log lines as HTML: SGR sequences (`ESC [ … m`: bold, dim, italic, underline,
//! the 16 foreground and background colours) become `<span class="…">`; every other escape
//! sequence is dropped, and the text is HTML-escaped. `console.js` does the same for lines that
//! arrive live.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    fg: Option<u8>,
    bg: Option<u8>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
}

impl Style {
    fn classes(self) -> String {
        let mut c = Vec::new();
        if let Some(f) = self.fg {
            c.push(format!("a-f{f}"));
        }
        if let Some(b) = self.bg {
            c.push(format!("a-g{b}"));
        }
        for (on, name) in [
            (self.bold, "a-b"),
            (self.dim, "a-d"),
            (self.italic, "a-i"),
            (self.underline, "a-u"),
        ] {
            if on {
                c.push(name.to_owned());
            }
        }
        c.join(" ")
    }

    fn apply(&mut self, params: &[u16]) {
        let mut i = 0;
        if params.is_empty() {
            *self = Style::default();
        }
        while i < params.len() {
            match params[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => {
                    self.bold = false;
                    self.dim = false;
                }
                23 => self.italic = false,
                24 => self.underline = false,
                p @ 30..=37 => self.fg = Some((p - 30) as u8),
                p @ 90..=97 => self.fg = Some((p - 90 + 8) as u8),
                39 => self.fg = None,
                p @ 40..=47 => self.bg = Some((p - 40) as u8),
                p @ 100..=107 => self.bg = Some((p - 100 + 8) as u8),
                49 => self.bg = None,
                // 256-colour and true-colour forms: skip their arguments.
                38 | 48 => {
                    i += match params.get(i + 1) {
                        Some(5) => 2,
                        Some(2) => 4,
                        _ => 0,
                    };
                }
                _ => {}
            }
            i += 1;
        }
    }
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c if c.is_control() && c != '\t' => {}
        c => out.push(c),
    }
}

/// `text` as escaped HTML with its ANSI styles as spans.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut style = Style::default();
    let mut open = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            escape_into(&mut out, c);
            continue;
        }
        if chars.peek() != Some(&'[') {
            // Another escape (e.g. OSC or a lone ESC): drop the ESC and the next character.
            chars.next();
            continue;
        }
        chars.next();
        let mut seq = String::new();
        let mut fin = None;
        for c in chars.by_ref() {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                fin = Some(c);
                break;
            }
            seq.push(c);
        }
        if fin != Some('m') {
            continue;
        }
        let params: Vec<u16> = if seq.is_empty() {
            Vec::new()
        } else {
            seq.split(';').map(|p| p.parse().unwrap_or(0)).collect()
        };
        let before = style;
        style.apply(&params);
        if style == before {
            continue;
        }
        if open {
            out.push_str("</span>");
            open = false;
        }
        if style != Style::default() {
            let _ = write!(out, "<span class=\"{}\">", style.classes());
            open = true;
        }
    }
    if open {
        out.push_str("</span>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn colours_become_spans_and_text_is_escaped() {
        assert_eq!(
            to_html("\u{1b}[1;31mError:\u{1b}[0m <b>&"),
            "<span class=\"a-f1 a-b\">Error:</span> &lt;b&gt;&amp;"
        );
        assert_eq!(
            to_html("\u{1b}[92mok\u{1b}[39m"),
            "<span class=\"a-f10\">ok</span>"
        );
        assert_eq!(to_html("a\u{1b}[2Kb\u{1b}[38;5;196mc"), "abc");
        assert_eq!(to_html("plain\ttext"), "plain\ttext");
    }
}
