//! The gateway's side of the collector link (`docs/collector-protocol.md`).

mod auth;
mod handlers;

use crate::Shared;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiufu_protocol::CollectorErrorCode as Code;
use jiufu_protocol::collector::{ApiError, ErrorBody};
use jiufu_store::StoreError;

pub use auth::{Signed, authenticate};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/collector/v1/pair", post(handlers::pair))
        .route("/collector/v1/codes", put(handlers::sync_codes).get(handlers::list_codes))
        .route("/collector/v1/orders", get(handlers::orders))
        .route("/collector/v1/events", get(handlers::events))
        .route("/collector/v1/confirmations", post(handlers::confirm))
        .route("/collector/v1/orders/{order_id}/reject", post(handlers::reject))
        .route("/collector/v1/unmatched", post(handlers::unmatched))
        .route("/collector/v1/heartbeat", post(handlers::heartbeat))
}

/// An error of the collector API: a real HTTP status and `{"error":{"code","message"}}`.
#[derive(Debug)]
pub struct CollectorError {
    status: StatusCode,
    code: Code,
    message: String,
}

impl CollectorError {
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        CollectorError { status, code, message: message.into() }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, Code::Unauthorized, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Code::BadRequest, message)
    }
}

impl From<StoreError> for CollectorError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, Code::NotFound, "no such order"),
            StoreError::Transition(t) => Self::new(StatusCode::CONFLICT, Code::WrongState, t.to_string()),
            StoreError::Conflict(c) => Self::new(StatusCode::CONFLICT, Code::Conflict, format!("{c}; try again")),
            e @ StoreError::Duplicate(_) => Self::new(StatusCode::CONFLICT, Code::Conflict, e.to_string()),
            StoreError::EvidenceUsed(id) => Self::new(
                StatusCode::CONFLICT,
                Code::EvidenceUsed,
                format!("the payment {id:?} already confirmed another order; one payment confirms one order"),
            ),
            other => {
                tracing::error!(error = %other, "collector request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, "internal error")
            }
        }
    }
}

impl From<crate::domain::DeviceRefused> for CollectorError {
    fn from(e: crate::domain::DeviceRefused) -> Self {
        use crate::domain::DeviceRefused as R;
        match e {
            R::BadRequest(m) => Self::bad_request(m),
            R::Unauthorized(m) => Self::unauthorized(m),
            R::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for CollectorError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: ApiError { code: self.code.into(), message: self.message } })).into_response()
    }
}
