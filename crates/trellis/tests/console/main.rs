//! The web console of the real trellis binary: sessions, CSRF and permissions over HTTP
//! (`sessions`), log windows of a 200,000-line log (`logs`), and the pages in a real headless
//! Chromium driven by Playwright with a real tendril (`browser`; peers from `cargo xtask peers`).

mod browser;
mod browser_clouds;
mod browser_jobs;
mod browser_plan;
mod common;
mod forms;
mod harness;
mod logs;
mod secrets;
mod sessions;
mod vines;
