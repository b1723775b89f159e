//! What the shop dialects' requests share: where their parameters are, the
//! free `param` they echo, amounts written back as JSON numbers.

use super::fields::Fields;
use crate::error::{ApiError, ApiResult};
use axum::extract::Request;
use axum::http::Method;
use jiufu_protocol::ErrorCode;
use jiufu_protocol::shop_sign::canonical_number;
use serde_json::value::RawValue;

/// The request's parameters: the query of a GET, the body of a POST (its
/// query when the body is empty: some SDKs post with an empty body).
pub async fn params(req: Request) -> ApiResult<Fields> {
    if req.method() == Method::GET {
        return Fields::query(req.uri().query());
    }
    let query = req.uri().query().map(str::to_owned);
    let body = Fields::read(req).await?;
    if body.is_empty() { Fields::query(query.as_deref()) } else { Ok(body) }
}

/// The shop's own `param`, echoed back in its notification: at most 256
/// characters, no control characters.
pub fn check_param(param: &str) -> ApiResult<&str> {
    if param.chars().count() > 256 || param.chars().any(char::is_control) {
        return Err(ApiError::field(ErrorCode::MalformedField, "param is longer than 256 characters or has control characters"));
    }
    Ok(param)
}

/// A decimal as a JSON number in shortest form (`10.00` → `10`), never
/// through a float; `field` names it in the refusal.
pub fn number(decimal: &str, field: &str) -> ApiResult<Box<RawValue>> {
    canonical_number(decimal)
        .and_then(|n| RawValue::from_string(n).ok())
        .ok_or_else(|| ApiError::field(ErrorCode::InvalidAmount, format!("{field} must be a plain decimal number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_from_their_text() {
        assert_eq!(number("10.00", "amount").unwrap().get(), "10");
        assert_eq!(number("9.99", "amount").unwrap().get(), "9.99");
        let e = number("x", "price").unwrap_err();
        assert_eq!(e.message, format!("{}: price must be a plain decimal number", ErrorCode::InvalidAmount.message()));
    }

    #[test]
    fn param_is_short_plain_text() {
        assert_eq!(check_param("vone666").unwrap(), "vone666");
        assert!(check_param(&"p".repeat(257)).is_err());
        assert!(check_param("a\nb").is_err());
    }
}
