//! `POST /gateway`: create an order.

use crate::Shared;
use crate::dialect::fields::Fields;
use crate::domain::NewOrderRequest;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use axum::Json;
use axum::extract::{Request, State};
use jiufu_protocol::{Dialect, ErrorCode, MerchantId, sign};
use serde_json::{Value, json};

pub async fn handle(State(app): State<Shared>, client: ClientAddr, req: Request) -> ApiResult<Json<Value>> {
    let fields = Fields::read(req).await?;
    let request = app.authenticate(client, parse(&app, &fields)).await?;
    let order = app.domain.create_order(request).await?;
    Ok(Json(json!({"success": true, "errorCode": 0, "errorMsg": null, "order_id": order.id})))
}

/// Checks in this order: required fields present, merchant known,
/// signature, then the channel; the domain checks each other field's rules
/// ([`NewOrderRequest::validate`]) — so nothing is said about a request's
/// content before it is authenticated.
async fn parse<'a>(app: &Shared, f: &'a Fields) -> ApiResult<NewOrderRequest<'a>> {
    let userid = f.required("userid")?;
    let order_no = f.required("order_no")?;
    let order_type = f.required("order_type")?;
    let amount = f.required("amount")?;
    let subject = f.required("subject")?;
    let notify_url = f.required("notify_url")?;
    let given_sign = f.required("sign")?;
    let return_url = f.get("return_url").unwrap_or("");

    let merchant_id = parse_userid(userid)?;
    let merchant = app.domain.enabled_merchant(merchant_id).await?.ok_or_else(|| ApiError::new(ErrorCode::UnknownMerchant))?;
    let expected = sign::create_order_sign(userid, order_no, order_type, amount, return_url, merchant.key.expose());
    if !sign::hex_digest_eq(&expected, given_sign) {
        return Err(ApiError::new(ErrorCode::BadSignature));
    }

    Ok(NewOrderRequest {
        merchant,
        order_no,
        channel: order_type.parse().map_err(|e| ApiError::field(ErrorCode::MalformedField, format!("order_type: {e}")))?,
        subject,
        amount,
        notify_url,
        return_url,
        ip: f.get("ip").unwrap_or(""),
        order_time: f.get("order_time").unwrap_or(""),
        dialect: Dialect::Jiufu,
        shop_data: String::new(),
        cap_payerless: crate::dialects().get(Dialect::Jiufu).caps_payerless(),
    })
}

pub fn parse_userid(text: &str) -> ApiResult<MerchantId> {
    MerchantId::parse(text).ok_or_else(|| ApiError::field(ErrorCode::MalformedField, "userid must be a positive whole number"))
}
