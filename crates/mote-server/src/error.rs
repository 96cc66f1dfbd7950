//! API errors: an HTTP status and a JSON body `{"error": "..."}` saying what and what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mote_fleet::api::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, m)
    }

    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, m)
    }

    pub fn conflict(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, m)
    }

    pub fn forbidden(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, m)
    }

    pub fn unprocessable(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m)
    }

    /// A server-side failure (database, storage): logged, and reported without internals.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
        tracing::error!("{what}: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: {e}; see the server log"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(ErrorBody { error: self.message })).into_response()
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        ApiError::internal("database error", e)
    }
}

/// `body` as JSON of `T`, or a 400 naming the problem.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("{what}: invalid JSON body: {e}")))
}

/// The body, or 413 when it is over the route's limit.
pub fn body(b: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>) -> ApiResult<axum::body::Bytes> {
    b.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body refused: {e}; packages may be up to the server's --max-package-mb, JSON bodies 64 KiB"
            ),
        )
    })
}
