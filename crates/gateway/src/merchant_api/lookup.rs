//! `GET /query/{id}`, `GET /qrcode/{id}`, `GET /order/{userid}/{order_no}/{sign}`.

use super::create::parse_userid;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use crate::{Shared, clock};
use axum::Json;
use axum::extract::{Path, State};
use jiufu_protocol::{ErrorCode, OrderState, sign};
use jiufu_store::Order;
use serde_json::{Value, json};

/// The QR text and PNG (base64) of an order that is waiting for payment;
/// empty for orders that must not be paid any more.
fn qr_fields(app: &Shared, order: &Order, state: OrderState) -> (String, String) {
    if state.is_waiting() { (order.qr_text.clone(), app.qr.base64_png(&order.qr_text)) } else { (String::new(), String::new()) }
}

pub async fn query(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let order = crate::error::find_order(&app, &id).await?;
    let now = app.domain.now();
    let state = order.state_at(now);
    let (qrcode, imgtext) = qr_fields(&app, &order, state);
    Ok(Json(json!({
        "success": true, "errorCode": 0, "errorMsg": null,
        "state": state.code(),
        "order": {
            "qrcode": qrcode,
            "imgtext": imgtext,
            "alipayuid": "",
            "amount": order.payable_fen.json(),
            "sn": order.id,
            "timeout": order.ttl_secs(),
            "order_id": order.id,
            "order_no": order.order_no,
            "order_amount": order.order_fen.json(),
            "channel": order.channel.code(),
            "expire_time": clock::format(order.expire_at, app.config.timezone),
            "remaining": (order.expire_at - now).max(0),
        }
    })))
}

pub async fn qrcode(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let order = crate::error::find_order(&app, &id).await?;
    let state = order.state_at(app.domain.now());
    if state != OrderState::CodeIssued {
        return Err(ApiError::field(ErrorCode::WrongState, format!("order state is {state}, the QR code is shown only in state 5")));
    }
    let (qrcode, imgtext) = qr_fields(&app, &order, state);
    Ok(Json(json!({
        "success": true, "errorCode": 0, "errorMsg": null,
        "order": {
            "state": state.code(),
            "qrcode": qrcode,
            "imgtext": imgtext,
            "amount": order.payable_fen.json(),
            "sn": order.id,
            "timeout": order.ttl_secs(),
        }
    })))
}

pub async fn merchant_lookup(
    State(app): State<Shared>,
    client: ClientAddr,
    Path((userid, order_no, given)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    // The seed prints the path as `/order/:{商户ID}/…`; tolerate the colon.
    let userid = userid.strip_prefix(':').unwrap_or(&userid);
    let merchant_id = parse_userid(userid)?;
    app.authenticate(client, async {
        let merchant = app.domain.enabled_merchant(merchant_id).await?.ok_or_else(|| ApiError::new(ErrorCode::UnknownMerchant))?;
        let expected = sign::order_sign(userid, &order_no, merchant.key.expose());
        if !sign::hex_digest_eq(&expected, &given) {
            return Err(ApiError::new(ErrorCode::BadSignature));
        }
        Ok(())
    })
    .await?;
    let order = app.domain.order_by_no(merchant_id, &order_no).await?.ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound))?;
    let state = order.state_at(app.domain.now());
    let (qrcode, imgtext) = qr_fields(&app, &order, state);
    let attempts = app.domain.notification(&order.id).await?.map(|n| n.attempts).unwrap_or(0);
    let tz = app.config.timezone;
    Ok(Json(json!({
        "success": true, "errorCode": 0, "errorMsg": null,
        "order": {
            "sn": order.order_no,
            "state": state.code(),
            "qrcode": qrcode,
            "imgtext": imgtext,
            "notifyurl": order.notify_url,
            "returnurl": order.return_url,
            "returning": order.notified,
            "amount": order.order_fen.json(),
            "ip": order.ip,
            "paytype": order.channel.code(),
            "create_time": clock::format(order.created_at, tz),
            "order_time": order.order_time,
            "order_id": order.id,
            "payable_amount": order.payable_fen.json(),
            "paid_amount": order.paid_fen.map(|f| f.json()),
            "paid_time": order.paid_at.map(|t| clock::format(t, tz)),
            "notify_attempts": attempts,
        }
    })))
}
