//! How grape prints: human tables (colours only on a terminal, never with `NO_COLOR`) or stable
//! JSON for scripts; data to stdout, progress and messages to stderr.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use grape_api::JobStatus;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::{CliError, CliResult};

/// The `--output` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Tables and sentences for people.
    #[default]
    Human,
    /// JSON documents for scripts (one document; log lines as one JSON object per line).
    Json,
}

/// Printing settings of one run.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The output format.
    pub format: Format,
    /// Colours on stdout.
    pub color_out: bool,
    /// Colours on stderr.
    pub color_err: bool,
    /// Spinners on stderr.
    pub progress: bool,
}

/// True when the user asked for no colours (`NO_COLOR` set to anything non-empty).
fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Printer {
    /// Detects terminals and `NO_COLOR`.
    pub fn detect(format: Format, no_color_flag: bool) -> Self {
        let no_color = no_color_flag || no_color_env();
        let out_tty = std::io::stdout().is_terminal();
        let err_tty = std::io::stderr().is_terminal();
        Self {
            format,
            color_out: out_tty && !no_color,
            color_err: err_tty && !no_color,
            progress: err_tty && format == Format::Human,
        }
    }

    /// True for `--output json`.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> CliResult<()> {
        let text = serde_json::to_string_pretty(value).map_err(|e| {
            CliError::failed(format!("cannot encode the output as JSON: {e}."))
                .hint("use the human output (no `--output json`) and report this as a bug")
        })?;
        println!("{text}");
        Ok(())
    }

    /// A table in the house style: borders on a terminal, plain aligned columns in a pipe.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        if self.color_out {
            t.load_preset(presets::UTF8_FULL_CONDENSED)
                .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
                .enforce_styling();
        } else {
            t.load_preset(presets::NOTHING).force_no_tty();
        }
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header(header.iter().map(|h| {
            let c = Cell::new(h);
            if self.color_out {
                c.add_attribute(comfy_table::Attribute::Bold)
            } else {
                c
            }
        }));
        t
    }

    /// Prints a table on stdout (lines trimmed of trailing blanks).
    pub fn print_table(&self, table: &Table) {
        for line in table.to_string().lines() {
            println!("{}", line.trim_end());
        }
    }

    /// A table cell showing a job status, coloured on a terminal.
    pub fn status_cell(&self, status: &JobStatus) -> Cell {
        let cell = Cell::new(status.as_str());
        if !self.color_out {
            return cell;
        }
        match status {
            JobStatus::Success => cell.fg(Color::Green),
            JobStatus::Failed => cell.fg(Color::Red),
            JobStatus::Cancelled => cell.fg(Color::Yellow),
            JobStatus::Running | JobStatus::Claimed => cell.fg(Color::Cyan),
            _ => cell,
        }
    }

    /// Wraps `text` in an ANSI colour for stderr, when colours are on.
    pub fn paint_err(&self, code: &str, text: &str) -> String {
        paint(self.color_err, code, text)
    }

    /// Wraps `text` in an ANSI colour for stdout, when colours are on.
    pub fn paint_out(&self, code: &str, text: &str) -> String {
        paint(self.color_out, code, text)
    }

    /// A message for people on stderr (not in JSON mode's stdout).
    pub fn note(&self, text: impl AsRef<str>) {
        eprintln!("{}", text.as_ref());
    }

    /// A spinner on stderr while waiting, hidden when stderr is not a terminal.
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new_spinner();
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            pb.set_style(style);
        }
        pb.set_message(message.into());
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    }

    /// Prints an error and its hint on stderr.
    pub fn error(&self, err: &CliError) {
        eprintln!("{} {}", self.paint_err(RED_BOLD, "error:"), err.message);
        if let Some(h) = &err.hint {
            eprintln!("{} {h}", self.paint_err(CYAN, "hint:"));
        }
    }
}

/// ANSI: green.
pub const GREEN: &str = "32";
/// ANSI: red.
pub const RED: &str = "31";
/// ANSI: bold red.
pub const RED_BOLD: &str = "1;31";
/// ANSI: yellow.
pub const YELLOW: &str = "33";
/// ANSI: cyan.
pub const CYAN: &str = "36";
/// ANSI: dim.
pub const DIM: &str = "2";
/// ANSI: bold.
pub const BOLD: &str = "1";

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// The ANSI colour code of a job status.
pub fn status_color(status: &JobStatus) -> &'static str {
    match status {
        JobStatus::Success => GREEN,
        JobStatus::Failed => RED,
        JobStatus::Cancelled => YELLOW,
        _ => CYAN,
    }
}

/// Formats an optional timestamp for tables (`-` when absent).
pub fn time_cell(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A duration as `1m 03s` / `4.2s`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let ms = d.num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
