//! A blocking HTTP client of the fleet server's device and admin API (`client` feature, `ureq`,
//! plain HTTP: put TLS in front of the server or on the loopback of a gateway).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{Action, CheckIn, ErrorBody, Report};

/// A failed call: transport error, or the server's status and error message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: {source}")]
    Transport { url: String, source: Box<ureq::Error> },
    #[error("{url}: HTTP {status}: {message}")]
    Status { url: String, status: u16, message: String },
    #[error("`{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{url}: the answer is not the expected JSON: {source}")]
    Json { url: String, source: serde_json::Error },
}

/// A response: status, headers of interest and body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub content_range: Option<String>,
    pub body: Vec<u8>,
}

/// A server base URL (`http://127.0.0.1:8440`) and a bearer token.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Client { base: base.trim_end_matches('/').to_string(), token: token.to_string(), agent: config.into() }
    }

    /// The same server with another token (sharing the connection pool).
    pub fn with_token(&self, token: &str) -> Client {
        Client { base: self.base.clone(), token: token.to_string(), agent: self.agent.clone() }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Any request: `method` `path` with `body`, extra headers; never an error for a status.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Response, ClientError> {
        let url = self.url(path);
        let mut b = ureq::http::Request::builder().method(method).uri(&url);
        if !self.token.is_empty() {
            b = b.header("Authorization", format!("Bearer {}", self.token));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let transport = |e: ureq::Error| ClientError::Transport { url: url.clone(), source: Box::new(e) };
        let mut resp = match body {
            Some(bytes) => {
                let req = b.header("Content-Type", "application/json").body(bytes.to_vec()).expect("valid request");
                self.agent.run(req).map_err(transport)?
            }
            None => self.agent.run(b.body(()).expect("valid request")).map_err(transport)?,
        };
        let status = resp.status().as_u16();
        let content_range = resp.headers().get("content-range").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.body_mut().with_config().limit(1 << 31).read_to_vec().map_err(transport)?;
        Ok(Response { status, content_range, body })
    }

    /// `method` `path` with a JSON body; a 2xx answer parsed as `T`, else an error.
    pub fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let json = body.map(|b| serde_json::to_vec(b).expect("serializable"));
        let r = self.raw(method, path, json.as_deref(), &[])?;
        parse(&self.url(path), r)
    }

    pub fn checkin(&self, c: &CheckIn) -> Result<Action, ClientError> {
        self.call("POST", "/v1/checkin", Some(c))
    }

    pub fn report(&self, r: &Report) -> Result<serde_json::Value, ClientError> {
        self.call("POST", "/v1/reports", Some(r))
    }

    /// Downloads `url` whole, resuming with Range requests after a short read.
    pub fn download(&self, url: &str, size: u64) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::with_capacity(size as usize);
        while (out.len() as u64) < size {
            let range = format!("bytes={}-", out.len());
            let headers: &[(&str, &str)] = if out.is_empty() { &[] } else { &[("Range", &range)] };
            let r = self.raw("GET", url, None, headers)?;
            if !(r.status == 200 || r.status == 206) {
                return Err(status_error(&self.url(url), &r));
            }
            if r.body.is_empty() {
                break;
            }
            out.extend_from_slice(&r.body);
        }
        Ok(out)
    }
}

/// A streamed download into a file: what was already there and what this call fetched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes the file already held when the call began (a resumed download when > 0).
    pub resumed_at: u64,
    pub fetched: u64,
}

impl Client {
    /// Downloads `url` (`size` bytes) into the file `part`, keeping what it already holds and
    /// asking only for the rest (`Range: bytes=<held>-`), so a download cut by a crash, a kill
    /// or a dropped connection continues where it stopped. Every chunk is appended as it
    /// arrives; `max_bytes_per_sec` (when set) paces the reads. A file longer than `size` is
    /// started over. The caller checks the digest of the result.
    pub fn download_to(
        &self,
        url: &str,
        size: u64,
        part: &Path,
        max_bytes_per_sec: Option<u64>,
    ) -> Result<Fetched, ClientError> {
        let ioe = |source| ClientError::Io { path: part.to_path_buf(), source };
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(part).map_err(ioe)?;
        let mut held = f.metadata().map_err(ioe)?.len();
        if held > size {
            f.set_len(0).map_err(ioe)?;
            held = 0;
        }
        let out = Fetched { resumed_at: held, fetched: 0 };
        let mut out = out;
        let full = self.url(url);
        let started = Instant::now();
        while held < size {
            let mut b = ureq::http::Request::builder().method("GET").uri(&full);
            if !self.token.is_empty() {
                b = b.header("Authorization", format!("Bearer {}", self.token));
            }
            if held > 0 {
                b = b.header("Range", format!("bytes={held}-"));
            }
            let transport = |e: ureq::Error| ClientError::Transport { url: full.clone(), source: Box::new(e) };
            // Not the client's 30 s for the whole call: a large package on a slow link takes
            // longer. The body may take as long as 8 KiB/s (or half the paced rate) would, plus
            // a minute; a stalled transfer then fails and resumes at the next attempt.
            let floor = max_bytes_per_sec.filter(|&r| r > 0).map_or(8192, |r| (r / 2).clamp(1, 8192));
            let body_time = Duration::from_secs(60 + (size - held) / floor);
            let req = self
                .agent
                .configure_request(b.body(()).expect("valid request"))
                .timeout_global(None)
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_recv_response(Some(Duration::from_secs(30)))
                .timeout_recv_body(Some(body_time))
                .build();
            let mut resp = self.agent.run(req).map_err(transport)?;
            let status = resp.status().as_u16();
            if status == 200 && held > 0 {
                f.set_len(0).map_err(ioe)?;
                held = 0;
            } else if !(status == 200 || status == 206) {
                let body = resp.body_mut().read_to_vec().unwrap_or_default();
                return Err(status_error(&full, &Response { status, content_range: None, body }));
            }
            let mut r = resp.body_mut().with_config().limit(size.saturating_sub(held) + 1).reader();
            let mut buf = vec![0u8; 16 << 10];
            let before = held;
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => return Err(ClientError::Io { path: part.to_path_buf(), source: e }),
                };
                f.write_all(&buf[..n]).map_err(ioe)?;
                held += n as u64;
                out.fetched += n as u64;
                if let Some(rate) = max_bytes_per_sec.filter(|&r| r > 0) {
                    let due = Duration::from_secs_f64(out.fetched as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
            }
            if held == before {
                break;
            }
        }
        f.sync_all().map_err(ioe)?;
        Ok(out)
    }
}

fn status_error(url: &str, r: &Response) -> ClientError {
    let message = serde_json::from_slice::<ErrorBody>(&r.body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(&r.body).into_owned());
    ClientError::Status { url: url.to_string(), status: r.status, message }
}

/// A 2xx response's JSON body as `T`.
pub fn parse<T: DeserializeOwned>(url: &str, r: Response) -> Result<T, ClientError> {
    if !(200..300).contains(&r.status) {
        return Err(status_error(url, &r));
    }
    serde_json::from_slice(&r.body).map_err(|source| ClientError::Json { url: url.to_string(), source })
}
