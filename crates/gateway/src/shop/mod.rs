//! The shop protocols (`shop-compat.md`): 易支付 V1, epusdt classic and
//! GMPay, and the V免签 merchant API, beside the native API. Each dialect
//! is one module that parses its requests, authenticates them, calls the
//! same order operations as the native API and renders its own replies;
//! an order remembers its dialect, so its notification and return
//! redirect come back in the shop's own shape. What the dialects share
//! (finding the merchant, naming channels, the echo data) is here; no
//! dialect reaches into another.

pub mod epay;
pub mod epusdt;
pub mod vmq;

use crate::Shared;
use crate::domain::NewOrderRequest;
use crate::error::{ApiError, ApiResult};
use crate::merchant_api::parse_userid;
use jiufu_protocol::{Channel, Dialect, ErrorCode, MerchantId, OrderId};
use jiufu_store::{Merchant, Order};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An enabled merchant by the id a shop sends as `pid`.
pub async fn merchant_by_pid(app: &Shared, pid: &str) -> ApiResult<Merchant> {
    let id = parse_userid(pid).map_err(|_| ApiError::field(ErrorCode::UnknownMerchant, "pid must be a merchant id"))?;
    app.domain.enabled_merchant(id).await?.ok_or_else(|| ApiError::new(ErrorCode::UnknownMerchant))
}

/// For protocols without a merchant id (epusdt classic, V免签): the enabled
/// merchant whose key made the signature (`signed_by`), by the domain's
/// shared-key rule ([`crate::domain::Domain::merchant_by_key`]). Callers
/// hash the signed text once ([`Md5Prefix`]), and guesses are throttled
/// per address ([`crate::App::authenticate`]).
///
/// [`Md5Prefix`]: jiufu_protocol::shop_sign::Md5Prefix
pub async fn merchant_by_key(app: &Shared, signed_by: impl Fn(&Merchant) -> bool) -> ApiResult<Option<Merchant>> {
    Ok(app.domain.merchant_by_key(signed_by).await?)
}

/// A signature that cannot be any shop's (not 32 or 64 hex digits) is a
/// wrong one, said before any merchant is looked up.
pub fn hex_signature(given: &str) -> ApiResult<&str> {
    if jiufu_protocol::shop_sign::is_hex_digest(given) { Ok(given) } else { Err(ApiError::new(ErrorCode::BadSignature)) }
}

/// A channel as the shop protocols name it: 易支付's `alipay`, `wxpay`,
/// `qqpay`, `bank`, or a native code `P901`…`P904`.
pub fn channel_by_name(name: &str) -> Option<Channel> {
    match name {
        "alipay" => Some(Channel::P901),
        "wxpay" => Some(Channel::P902),
        "qqpay" => Some(Channel::P903),
        "bank" => Some(Channel::P904),
        code => code.parse().ok(),
    }
}

/// 易支付's name of a channel.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::P901 => "alipay",
        Channel::P902 => "wxpay",
        Channel::P903 => "qqpay",
        Channel::P904 => "bank",
    }
}

/// For a protocol that names no channel (epusdt pays in whatever the
/// gateway offers): the merchant's first channel, Alipay first, that has
/// an enabled receiving code.
pub async fn default_channel(app: &Shared, merchant_id: MerchantId) -> ApiResult<Channel> {
    app.domain
        .default_channel(merchant_id)
        .await?
        .ok_or_else(|| ApiError::field(ErrorCode::ChannelUnavailable, "no receiving code for any channel"))
}

/// Creates (or finds again) an authenticated shop order through the same
/// rules and operation as the native API; a shop order without a payer
/// address is under the payerless cap when its dialect says so.
pub async fn create(app: &Shared, request: NewOrderRequest<'_>) -> ApiResult<Order> {
    let cap_payerless = crate::dialects().get(request.dialect).caps_payerless();
    Ok(app.domain.create_order(NewOrderRequest { cap_payerless, ..request }).await?)
}

/// A dialect's echo data as stored with the order.
pub fn echo<T: Serialize>(data: &T) -> String {
    serde_json::to_string(data).unwrap_or_default()
}

/// Reads back what [`echo`] stored; an order of another dialect (or a
/// damaged row) is an error that names the order.
pub fn read_echo<T: DeserializeOwned>(order: &Order, dialect: Dialect) -> Result<T, String> {
    if order.dialect != dialect {
        return Err(format!("order {} came through {}, not {dialect}", order.id, order.dialect));
    }
    serde_json::from_str(&order.shop_data).map_err(|e| format!("order {} has unreadable {dialect} data: {e}", order.id))
}

/// The checkout page's address of an order, as the shop's browser and the
/// shop's server see it.
pub fn checkout_url(app: &Shared, order_id: &OrderId) -> String {
    format!("{}/transfer/{order_id}", app.config.public_url)
}

/// A 302 Found to `url`: what 易支付 and V免签 shops expect of a page jump
/// (axum's `Redirect::to` answers 303).
pub fn found(url: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    match axum::http::HeaderValue::from_str(url) {
        Ok(location) => (axum::http::StatusCode::FOUND, [(axum::http::header::LOCATION, location)]).into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests;
