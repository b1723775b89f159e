//! Errors of the merchant API: always HTTP 200 with the 就付 envelope
//! `{"success":false,"errorCode":N,"errorMsg":"…"}`. Storage failures are
//! logged with their cause and shown to the client only as 1004 / a
//! generic message. The checkout pages use the same type and answer an
//! internal one with a generic 500 page ([`ApiError::is_internal`]).

use axum::Json;
use axum::response::{IntoResponse, Response};
use jiufu_protocol::ErrorCode;
use jiufu_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// A failure of the gateway itself (already logged), not of the request.
    internal: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        ApiError { code, message: code.message().to_owned(), internal: false }
    }

    /// A client error whose message says exactly what was wrong.
    pub fn field(code: ErrorCode, detail: impl std::fmt::Display) -> Self {
        ApiError { code, message: format!("{}: {detail}", code.message()), internal: false }
    }

    /// An internal failure: the cause goes to the log, the client sees `code`.
    pub fn internal(code: ErrorCode, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, code = code.code(), "internal failure");
        ApiError { internal: true, ..ApiError::new(code) }
    }

    /// True for an internal failure: pages show a generic error, never its cause.
    pub fn is_internal(&self) -> bool {
        self.internal
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(ErrorCode::OrderNotFound),
            StoreError::Transition(t) => ApiError::field(ErrorCode::WrongState, t),
            e @ StoreError::EvidenceUsed(_) => ApiError::field(ErrorCode::WrongState, e),
            other => ApiError::internal(ErrorCode::CreateFailed, other),
        }
    }
}

impl From<crate::domain::CreateRefused> for ApiError {
    fn from(e: crate::domain::CreateRefused) -> Self {
        use crate::domain::CreateRefused as R;
        match e {
            R::Malformed(detail) => ApiError::field(ErrorCode::MalformedField, detail),
            R::InvalidAmount(detail) => ApiError::field(ErrorCode::InvalidAmount, detail),
            R::NoCollectorOnline => ApiError::new(ErrorCode::NoCollectorOnline),
            R::OrderNoReused => ApiError::new(ErrorCode::OrderNoReused),
            e @ R::NoCode => ApiError::field(ErrorCode::ChannelUnavailable, e),
            R::NoFreeAmount => ApiError::new(ErrorCode::NoFreeAmount),
            e @ R::PayerlessLimit => ApiError::field(ErrorCode::NoFreeAmount, e),
            e @ R::PayerLimit(_) => ApiError::field(ErrorCode::TooManyOpenOrders, e),
            R::Store(e) => ApiError::internal(ErrorCode::CreateFailed, e),
        }
    }
}

/// An order by its public id, or 2001 (anything malformed is simply not found).
pub async fn find_order(app: &crate::Shared, id: &str) -> ApiResult<jiufu_store::Order> {
    app.domain.order(id).await?.ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Json(json!({"success": false, "errorCode": self.code.code(), "errorMsg": self.message})).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
