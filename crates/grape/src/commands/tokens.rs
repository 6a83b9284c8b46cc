//! `grape tokens …`: per-user API tokens (with an admin token: `TRELLIS_ADMIN_TOKEN` or
//! `--admin-token-stdin`).

use grape_api::{CreateTokenRequest, TokenRole};

use super::workers::admin_token;
use super::{Api, Ctx, parse_id};
use crate::cli::{AdminTokenArgs, TokenCreateArgs, TokenIdArgs};
use crate::config::ENV_ADMIN_TOKEN;
use crate::error::{CliError, CliResult};
use crate::output::time_cell;

/// A client with the admin token.
fn admin_api(ctx: &Ctx, args: &AdminTokenArgs) -> CliResult<Api> {
    let token = admin_token(args)?;
    let resolved = ctx.resolved()?;
    Api::new(resolved.require_url()?, token)
}

/// Maps an error: 401 names the admin token, 403 says an admin is needed (both exit 3).
fn token_err(api: &Api, e: &grape_api::ApiError, what: Option<&str>) -> CliError {
    match e.status() {
        Some(401) => {
            CliError::unreachable(format!("Trellis at {} rejected the admin token.", api.url)).hint(
                format!(
                    "check {ENV_ADMIN_TOKEN}: an admin token (the server's or one with role admin)"
                ),
            )
        }
        Some(403) => {
            CliError::unreachable("this token may not manage tokens: it is not an admin's.")
                .hint(format!("set {ENV_ADMIN_TOKEN} to an admin token"))
        }
        _ => CliError::from_api(e, &api.url, what),
    }
}

/// `grape tokens create --team T --role user|admin [--name N]`: prints the token once.
pub async fn create(ctx: &Ctx, args: &TokenCreateArgs) -> CliResult<()> {
    let api = admin_api(ctx, &args.admin)?;
    let request = CreateTokenRequest {
        team: args.team.clone(),
        role: TokenRole::from_wire(&args.role),
        name: args.name.clone(),
    };
    let created = api
        .client
        .create_token(&request)
        .await
        .map_err(|e| token_err(&api, &e, None))?;
    if ctx.printer.json() {
        // The one place the token is printed: the caller asked for it.
        return ctx.printer.print_json(&serde_json::json!({
            "id": created.info.id,
            "name": created.info.name,
            "team": created.info.team,
            "role": created.info.role,
            "created_at": created.info.created_at,
            "token": created.token.expose(),
        }));
    }
    println!("GRAPE_TOKEN={}", created.token.expose());
    ctx.printer.note(format!(
        "Created token {} ({} of team `{}`). It is shown only this once: store it now.\n\
         Use it with: grape login --token-stdin (or GRAPE_TOKEN=…).",
        created.info.id, created.info.role, created.info.team
    ));
    Ok(())
}

/// `grape tokens list`.
pub async fn list(ctx: &Ctx, args: &AdminTokenArgs) -> CliResult<()> {
    let api = admin_api(ctx, args)?;
    let tokens = api
        .client
        .list_tokens()
        .await
        .map_err(|e| token_err(&api, &e, None))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&tokens);
    }
    if tokens.is_empty() {
        ctx.printer.note("No tokens.");
        return Ok(());
    }
    let p = &ctx.printer;
    let mut t = p.table(&["ID", "NAME", "TEAM", "ROLE", "CREATED", "REVOKED"]);
    for tok in &tokens {
        t.add_row(vec![
            tok.id.to_string(),
            tok.name.clone().unwrap_or_else(|| "-".to_owned()),
            tok.team.clone(),
            tok.role.to_string(),
            time_cell(Some(&tok.created_at)),
            tok.revoked_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), |r| time_cell(Some(r))),
        ]);
    }
    p.print_table(&t);
    Ok(())
}

/// `grape tokens revoke ID`.
pub async fn revoke(ctx: &Ctx, args: &TokenIdArgs) -> CliResult<()> {
    let id = parse_id(&args.id, "token")?;
    let api = admin_api(ctx, &args.admin)?;
    api.client
        .revoke_token(id)
        .await
        .map_err(|e| token_err(&api, &e, Some(&format!("token {id}"))))?;
    if ctx.printer.json() {
        return ctx
            .printer
            .print_json(&serde_json::json!({ "revoked": id }));
    }
    ctx.printer
        .note(format!("Revoked token {id}: it is refused from now on."));
    Ok(())
}
