//! `edge-session cookie sign ID | verify VALUE`: what a session cookie
//! holds and whether this deployment's secret signed it (for debugging a
//! deployment that shares sessions with an Express app).

use edge_session::config::DEFAULT_COOKIE_NAME;
use edge_session::session::cookie::set_cookie_header;
use serde_json::json;

use crate::error::CliError;
use crate::output::{cell, Out};
use crate::report::read_cookie;
use crate::settings::Settings;

/// `cookie sign ID`: the value express-session would set for session `ID`
/// with the first secret, the `Cookie` pair a browser would send, and the
/// whole `Set-Cookie` line of a session saved now (its `Expires` is now +
/// `SESSION_MAX_AGE_MS`, as express-session's `cookie.maxAge` makes it).
///
/// # Errors
///
/// [`CliError::ConfigVar`] without a usable `SESSION_SECRET`.
pub fn sign(settings: &Settings, out: &mut Out, id: &str) -> Result<(), CliError> {
    let config = settings.session()?;
    let mut cookie = config.cookie.clone();
    cookie.reset_expiry(now_ms());
    let set_cookie = set_cookie_header(&config.cookie_name, id, &config.secrets, &cookie);
    let pair = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let value = format!("s:{}", config.secrets.sign(id));
    if out.is_json() {
        out.line(&json!({"id": id, "value": value, "cookie": pair}))?;
    } else {
        out.text(&format!("value       {value}"))?;
        out.text(&format!("Cookie      {pair}"))?;
        out.text(&format!("Set-Cookie  {set_cookie}"))?;
    }
    Ok(())
}

/// The system clock in ms since the epoch (0 before 1970).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `cookie verify VALUE`.
///
/// # Errors
///
/// [`CliError::CheckFailed`] when no configured secret signed it (after
/// printing what it holds); [`CliError::Config`] without `SESSION_SECRET`.
pub fn verify(settings: &Settings, out: &mut Out, input: &str) -> Result<(), CliError> {
    let secrets = settings.secrets();
    if secrets.is_empty() {
        return Err(CliError::Config("SESSION_SECRET is not set: nothing to verify with".into()));
    }
    let name = settings.get("SESSION_COOKIE_NAME").unwrap_or_else(|| DEFAULT_COOKIE_NAME.into());
    let reading = read_cookie(input, &name, &secrets);
    let signed = reading.secret_index.is_some();
    if out.is_json() {
        out.line(&json!({
            "value": reading.value,
            "id": reading.id,
            "signed": signed,
            "secret_index": reading.secret_index,
        }))?;
    } else {
        out.text(&format!("value       {}", reading.value))?;
        out.text(&format!("session id  {}", cell(reading.id.as_deref())))?;
        out.text(&match reading.secret_index {
            Some(0) => "signed      yes, by the signing secret (the first of SESSION_SECRET)".to_owned(),
            Some(i) => format!("signed      yes, by secret {} of SESSION_SECRET (verify only)", i + 1),
            None => "signed      no: none of SESSION_SECRET's secrets signed it".to_owned(),
        })?;
    }
    if signed {
        Ok(())
    } else if reading.id.is_none() {
        Err(CliError::CheckFailed("not a signed session cookie (express-session's are s:<id>.<signature>)".into()))
    } else {
        Err(CliError::CheckFailed("the signature does not match any secret of SESSION_SECRET".into()))
    }
}
