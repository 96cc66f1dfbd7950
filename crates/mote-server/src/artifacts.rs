//! Artifact downloads (`object_store`, addressed by SHA-256) with HTTP Range requests, so an
//! interrupted download resumes: one range per request (`bytes=A-B`, `bytes=A-`, `bytes=-N`),
//! `206` with `Content-Range`, `416` with `Content-Range: bytes */SIZE` for a bad range.
//!
//! A device may read a package only while it is assigned to a rollout of it (or when it is
//! the package it runs), and a delta only to such a package; the admin may read anything.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use object_store::path::Path as ObjPath;

use crate::App;
use crate::auth::{self, Who};
use crate::error::{ApiError, ApiResult};

/// The object of a package.
pub fn package_path(sha: &str) -> ObjPath {
    ObjPath::from(format!("packages/{sha}"))
}

/// The object of the delta to package `to` from payload `from`.
pub fn delta_path(to: &str, from: &str) -> ObjPath {
    ObjPath::from(format!("deltas/{to}/{from}"))
}

fn check_sha(s: &str) -> ApiResult<()> {
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("`{s}` is not a SHA-256: 64 lowercase hex digits")))
    }
}

/// The range `header` asks of `size` bytes: `None` for the whole, `Err` when unsatisfiable or malformed.
pub fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, String> {
    let spec = header.trim().strip_prefix("bytes=").ok_or("the Range unit must be `bytes=`")?;
    if spec.contains(',') {
        return Err("one range per request (resume from where the download stopped)".into());
    }
    let (a, b) = spec.split_once('-').ok_or("a range is `bytes=START-END`, `bytes=START-` or `bytes=-LEN`")?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| format!("`{s}` is not a byte offset"));
    let (start, end) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => return Err("an empty range".into()),
        (true, false) => {
            let n = num(b)?;
            if n == 0 {
                return Err("a suffix range of 0 bytes".into());
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (false, true) => (num(a)?, size.saturating_sub(1)),
        (false, false) => (num(a)?, num(b)?.min(size.saturating_sub(1))),
    };
    if start >= size || start > end {
        return Err(format!("range {start}-{end} is outside the {size}-byte artifact"));
    }
    Ok(Some((start, end)))
}

async fn send(app: &App, h: &HeaderMap, path: ObjPath, size: u64, etag: &str) -> ApiResult<Response> {
    let range = match h.get(header::RANGE) {
        None => None,
        Some(v) => {
            let v = v.to_str().unwrap_or("");
            match parse_range(v, size) {
                Ok(r) => r,
                Err(e) => {
                    let mut resp: Response = ApiError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        format!("bad Range `{v}`: {e}; the artifact has {size} bytes"),
                    )
                    .into_response_json();
                    resp.headers_mut().insert(header::CONTENT_RANGE, hv(&format!("bytes */{size}")));
                    return Ok(resp);
                }
            }
        }
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let bytes = if size == 0 {
        Vec::new()
    } else {
        app.store
            .get_range(&path, start..end + 1)
            .await
            .map_err(|e| ApiError::internal("cannot read the artifact", e))?
            .to_vec()
    };
    let mut resp = Response::new(Body::from(bytes));
    let hs = resp.headers_mut();
    hs.insert(header::ACCEPT_RANGES, hv("bytes"));
    hs.insert(header::CONTENT_TYPE, hv("application/octet-stream"));
    hs.insert(header::ETAG, hv(&format!("\"{etag}\"")));
    if range.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        resp.headers_mut().insert(header::CONTENT_RANGE, hv(&format!("bytes {start}-{end}/{size}")));
    }
    Ok(resp)
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("ASCII header")
}

impl ApiError {
    fn into_response_json(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

/// Whether `who` may read package `sha`.
fn may_read(app: &App, who: &Who, sha: &str) -> ApiResult<()> {
    let Who::Device(id) = who else { return Ok(()) };
    let st = app.state.lock().expect("state lock");
    let p = st.packages.get(sha).ok_or_else(|| ApiError::not_found(format!("no package {sha}")))?;
    let runs_it = st.devices.get(id).is_some_and(|d| d.sha256 == p.payload_sha256);
    let assigned = st
        .rollouts
        .values()
        .any(|r| r.sha256 == sha && r.assigned.contains_key(id) && r.state != mote_fleet::api::RolloutState::Halted);
    if runs_it || assigned {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "device `{id}` is not assigned to a rollout of package {sha}: download what a check-in offers"
        )))
    }
}

/// `GET /v1/artifacts/{sha}`.
pub async fn full(State(app): State<Arc<App>>, h: HeaderMap, Path(sha): Path<String>) -> ApiResult<Response> {
    let who = auth::who(&app, &h)?;
    check_sha(&sha)?;
    may_read(&app, &who, &sha)?;
    let size = app.state.lock().expect("state lock").packages.get(&sha).map(|p| p.size);
    let size = size.ok_or_else(|| ApiError::not_found(format!("no package {sha}")))?;
    send(&app, &h, package_path(&sha), size, &sha).await
}

/// `GET /v1/artifacts/{sha}/delta/{from}`.
pub async fn delta(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path((sha, from)): Path<(String, String)>,
) -> ApiResult<Response> {
    let who = auth::who(&app, &h)?;
    check_sha(&sha)?;
    check_sha(&from)?;
    may_read(&app, &who, &sha)?;
    let size = app.state.lock().expect("state lock").packages.get(&sha).and_then(|p| p.deltas.get(&from)).map(|d| d.1);
    let size = size.ok_or_else(|| {
        ApiError::not_found(format!("no delta to package {sha} from payload {from}: download the full package"))
    })?;
    send(&app, &h, delta_path(&sha, &from), size, &format!("{sha}-{from}")).await
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_parsed_and_bad_ones_refused() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        for bad in ["bytes=100-", "bytes=9-3", "items=0-1", "bytes=0-1,3-4", "bytes=-0", "bytes=x-1", "bytes=-"] {
            assert!(parse_range(bad, 100).is_err(), "{bad}");
        }
    }
}
