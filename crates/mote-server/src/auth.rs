//! Tokens. The admin token comes from `--admin-token-file` or is generated at first start
//! into `DIR/admin.token` (mode 0600); device tokens (`<device id>.<64 hex digits>`) are issued
//! at enrolment. Only SHA-256 digests of tokens are stored, and compared in constant time.

use std::path::Path;

use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::App;
use crate::error::{ApiError, ApiResult};

/// SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equality of two digests in time independent of where they differ.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let d = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(d) == 0
}

/// 32 random bytes as hex.
pub fn secret() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness from the operating system: {e}"))?;
    Ok(mote_pkg::make::hex(&b))
}

/// The admin token: read from `file`, else from `data/admin.token`, else generated there.
pub fn admin_token(file: Option<&Path>, data: &Path) -> Result<String, String> {
    let read = |p: &Path| {
        let t =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read the admin token `{}`: {e}", p.display()))?;
        let t = t.trim().to_string();
        if t.len() < 16 {
            return Err(format!("the admin token in `{}` is shorter than 16 characters", p.display()));
        }
        Ok(t)
    };
    if let Some(f) = file {
        return read(f);
    }
    let p = data.join("admin.token");
    if p.exists() {
        return read(&p);
    }
    let t = secret()?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&p).map_err(|e| format!("cannot create `{}`: {e}", p.display()))?;
    std::io::Write::write_all(&mut f, format!("{t}\n").as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", p.display()))?;
    tracing::info!(path = %p.display(), "generated the admin token");
    Ok(t)
}

/// Who a request is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Admin,
    Device(String),
}

fn unauthorized(m: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, m)
}

/// The caller, from `Authorization: Bearer TOKEN`; 401 when absent or unknown.
pub fn who(app: &App, h: &HeaderMap) -> ApiResult<Who> {
    let missing = "missing token: send `Authorization: Bearer TOKEN` (the admin token or the device's enrolment token)";
    let v = h.get("authorization").ok_or_else(|| unauthorized(missing))?;
    let v = v.to_str().map_err(|_| unauthorized(missing))?;
    let t = v.strip_prefix("Bearer ").ok_or_else(|| unauthorized(missing))?.trim();
    let d = digest(t);
    if ct_eq(&d, &app.admin_sha256) {
        return Ok(Who::Admin);
    }
    let wrong = "wrong token: not the admin token nor a device's current token (enrol the device again if it lost it)";
    let (id, _) = t.rsplit_once('.').ok_or_else(|| unauthorized(wrong))?;
    let st = app.state.lock().expect("state lock");
    match st.devices.get(id) {
        Some(dev) if ct_eq(&d, &dev.token_sha256) => Ok(Who::Device(id.to_string())),
        _ => Err(unauthorized(wrong)),
    }
}

/// 401 unless the admin token; 403 for a device.
pub fn admin(app: &App, h: &HeaderMap) -> ApiResult<()> {
    match who(app, h)? {
        Who::Admin => Ok(()),
        Who::Device(id) => Err(ApiError::forbidden(format!(
            "device `{id}` may not do this: it needs the admin token (`mote fleet serve` wrote it to DIR/admin.token)"
        ))),
    }
}

/// The device's id; 401 unless a device token, 403 for the admin token.
pub fn device(app: &App, h: &HeaderMap) -> ApiResult<String> {
    match who(app, h)? {
        Who::Device(id) => Ok(id),
        Who::Admin => Err(ApiError::forbidden(
            "this is a device endpoint: use a device token (from POST /v1/devices), not the admin token",
        )),
    }
}
