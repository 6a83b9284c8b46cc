//! `grape login`, `grape logout`, `grape status`.

use std::io::IsTerminal;

use grape_api::Secret;
use serde::Serialize;

use super::{Api, Ctx, read_stdin};
use crate::cli::LoginArgs;
use crate::config::{self, Source, StoredConfig};
use crate::error::{CliError, CliResult};
use crate::output::{GREEN, RED, YELLOW};

/// Reads the token from stdin or a hidden prompt on the terminal.
fn read_token(args: &LoginArgs) -> CliResult<Secret> {
    let token = if args.token_stdin {
        read_stdin("the token")?
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Trellis API token: ").map_err(|e| {
            CliError::usage(format!("cannot read the token from the terminal: {e}."))
                .hint("pipe the token in with `--token-stdin`")
        })?
    } else {
        return Err(CliError::usage("no terminal to ask for the token on.")
            .hint("pipe the token in with `--token-stdin`"));
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(CliError::usage("the token is empty.")
            .hint("give the API token of your Trellis (TRELLIS_API_TOKEN)"));
    }
    Ok(Secret::new(token))
}

/// `grape login`: checks the URL and token against the server, then saves them (mode 0600).
pub async fn login(ctx: &Ctx, args: &LoginArgs) -> CliResult<()> {
    let url = ctx
        .url_flag
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            CliError::usage("`grape login` needs the server's URL.")
                .hint("run `grape login --url http://HOST:PORT`")
        })?;
    let url = url.trim_end_matches('/').to_owned();
    let token = read_token(args)?;
    let api = Api::new(&url, token.clone())?;
    let mut version = None;
    if !args.no_verify {
        let health = api.client.health().await.map_err(|e| api.err(&e))?;
        api.client
            .list_jobs(None, Some(1))
            .await
            .map_err(|e| api.err(&e))?;
        version = Some(health.version);
    }
    let path = config::config_path()?;
    config::save(
        &path,
        &StoredConfig {
            url: Some(url.clone()),
            token: Some(token),
        },
    )?;
    let server = version
        .map(|v| format!(" (Trellis {v})"))
        .unwrap_or_default();
    ctx.printer.note(format!(
        "{} Logged in to {url}{server}; saved in {}.",
        ctx.printer.paint_err(GREEN, "✔"),
        path.display()
    ));
    Ok(())
}

/// `grape logout`.
pub fn logout(ctx: &Ctx) -> CliResult<()> {
    let path = config::config_path()?;
    if config::remove(&path)? {
        ctx.printer
            .note(format!("Logged out: removed {}.", path.display()));
    } else {
        ctx.printer.note("Not logged in: nothing to remove.");
    }
    if std::env::var_os(config::ENV_TOKEN).is_some() {
        ctx.printer.note(format!(
            "note: {} is still set in your environment.",
            config::ENV_TOKEN
        ));
    }
    Ok(())
}

/// The `grape status` document (`--output json`).
#[derive(Debug, Serialize)]
struct StatusReport {
    grape_version: &'static str,
    config_file: String,
    url: Option<String>,
    url_source: Option<Source>,
    reachable: bool,
    server_version: Option<String>,
    logged_in: bool,
    token_source: Option<Source>,
    authenticated: Option<bool>,
    error: Option<String>,
}

/// `grape status`: exit 0 when the server answers and accepts the token, else 3.
pub async fn status(ctx: &Ctx) -> CliResult<()> {
    let resolved = ctx.resolved()?;
    let mut report = StatusReport {
        grape_version: env!("CARGO_PKG_VERSION"),
        config_file: resolved.path.display().to_string(),
        url: resolved.url.as_ref().map(|(u, _)| u.clone()),
        url_source: resolved.url.as_ref().map(|(_, s)| *s),
        reachable: false,
        server_version: None,
        logged_in: resolved.token.is_some(),
        token_source: resolved.token.as_ref().map(|(_, s)| *s),
        authenticated: None,
        error: None,
    };
    let mut failure: Option<CliError> = None;
    if let Some((url, _)) = &resolved.url {
        let token = resolved
            .token
            .as_ref()
            .map_or_else(|| Secret::new(""), |(t, _)| t.clone());
        match Api::new(url, token) {
            Err(e) => failure = Some(e),
            Ok(api) => match api.client.health().await {
                Err(e) => failure = Some(api.err(&e)),
                Ok(h) => {
                    report.reachable = true;
                    report.server_version = Some(h.version);
                    if resolved.token.is_some() {
                        match api.client.list_jobs(None, Some(1)).await {
                            Ok(_) => report.authenticated = Some(true),
                            Err(e) => {
                                report.authenticated = Some(false);
                                failure = Some(api.err(&e));
                            }
                        }
                    } else {
                        failure = Some(resolved.require_token().err().unwrap_or_else(|| {
                            CliError::unreachable("you are not logged in to Trellis.")
                                .hint("run `grape login --url URL`, or set GRAPE_TOKEN")
                        }));
                    }
                }
            },
        }
    } else {
        failure = resolved.require_url().err();
    }
    report.error = failure.as_ref().map(|f| f.message.clone());
    if ctx.printer.json() {
        ctx.printer.print_json(&report)?;
    } else {
        print_status(ctx, &report);
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn print_status(ctx: &Ctx, r: &StatusReport) {
    let p = &ctx.printer;
    let yes = |b: bool| {
        if b {
            p.paint_out(GREEN, "yes")
        } else {
            p.paint_out(RED, "no")
        }
    };
    let src = |s: Option<Source>| {
        s.map(|s| format!(" (from {})", s.as_str()))
            .unwrap_or_default()
    };
    println!("Grape:          {}", r.grape_version);
    println!("Config file:    {}", r.config_file);
    match &r.url {
        Some(u) => println!("Trellis:        {u}{}", src(r.url_source)),
        None => println!("Trellis:        {}", p.paint_out(YELLOW, "not configured")),
    }
    println!("Reachable:      {}", yes(r.reachable));
    println!(
        "Server version: {}",
        r.server_version.as_deref().unwrap_or("-")
    );
    let auth = match r.authenticated {
        Some(true) => format!("{}{}", yes(true), src(r.token_source)),
        Some(false) => format!("{} (the token was rejected)", yes(false)),
        None if r.logged_in => format!("unknown{}", src(r.token_source)),
        None => format!("{} (not logged in)", yes(false)),
    };
    println!("Authenticated:  {auth}");
}
