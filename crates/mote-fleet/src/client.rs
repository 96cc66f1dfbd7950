//! A blocking HTTP client of the fleet server's device and admin API (`client` feature, `ureq`,
//! plain HTTP: put TLS in front of the server or on the loopback of a gateway).

use std::time::Duration;

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
