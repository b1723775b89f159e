//! The V免签 merchant API: `createOrder` (JSON, or a 302 to the checkout
//! with `isHtml=1`), `getOrder`, `checkOrder`, `closeOrder`, `getState`,
//! and its notification with `reallyPrice`. V免签 has no merchant id: the
//! merchant is the one whose key verifies the request's sign.

use super::{checkout_url, echo, hex_signature, merchant_by_key, read_echo};
use crate::Shared;
use crate::dialect::fields::Fields;
use crate::dialect::request::{self, check_param, params};
use crate::dialect::{Ack, Outgoing, ShopDialect, append_query, encode_query};
use crate::domain::NewOrderRequest;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiufu_protocol::shop_sign::{Md5Prefix, vmq_notify_sign};
use jiufu_protocol::{Channel, Dialect, ErrorCode, OrderState, sign};
use jiufu_store::{Merchant, Order};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::fmt::Write;

/// The V免签 merchant API as a plug-in.
pub struct Vmq;

impl ShopDialect for Vmq {
    fn ids(&self) -> &'static [Dialect] {
        &[Dialect::Vmq]
    }

    fn routes(&self) -> Router<Shared> {
        routes()
    }

    fn notification(&self, order: &Order, key: &str, _at: i64) -> Result<Outgoing, String> {
        notification(order, key)
    }

    fn return_link(&self, order: &Order, key: &str) -> Result<String, String> {
        return_url(order, key)
    }

    fn settings(&self, base: &str, merchant: &Merchant) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "V免签 VMQ merchant API");
        let _ = writeln!(s, "  服务地址 address     : {base}");
        let _ = writeln!(s, "  通讯密钥 key         : {}", merchant.key.expose());
        s
    }

    fn refusal(&self, e: ApiError) -> Response {
        refusal(e.message)
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/createOrder", get(create_order).post(create_order))
        .route("/getOrder", get(get_order).post(get_order))
        .route("/checkOrder", get(check_order).post(check_order))
        .route("/closeOrder", get(close_order).post(close_order))
        .route("/getState", get(get_state).post(get_state))
}

/// What the notification echoes back exactly as sent.
#[derive(Debug, Serialize, Deserialize)]
struct Echo {
    /// `price` as sent: the notification's sign covers it as text.
    price: String,
    param: String,
    /// `type` as sent (`1` WeChat, `2` Alipay).
    kind: String,
}

/// A V免签 refusal: `{"code":-1,"msg":…}`.
fn refusal(msg: impl Into<String>) -> Response {
    Json(json!({"code": -1, "msg": msg.into()})).into_response()
}

fn ok(data: impl Serialize) -> Response {
    Json(json!({"code": 1, "msg": "成功", "data": data})).into_response()
}

async fn create_order(State(app): State<Shared>, client: ClientAddr, req: Request) -> Response {
    let f = match params(req).await {
        Ok(f) => f,
        Err(e) => return refusal(e.message),
    };
    let html = f.get("isHtml") == Some("1");
    match create(&app, &f, client, html).await {
        Ok(order) if html => super::found(&checkout_url(&app, &order.id)),
        Ok(order) => describe(&app, &order).map_or_else(|e| refusal(e.message), ok),
        Err(e) => refusal(e.message),
    }
}

/// The sign of a V免签 request: `md5(parts… + key)`, 32 hex digits, the
/// signed text hashed once for every merchant tried.
fn signed_by(parts: &[&str], given: &str) -> ApiResult<impl Fn(&Merchant) -> bool + use<>> {
    let given = hex_signature(given)?.to_owned();
    if given.len() != 32 {
        return Err(ApiError::new(ErrorCode::BadSignature));
    }
    let prefix = Md5Prefix::new(parts);
    Ok(move |m: &Merchant| sign::hex_digest_eq(&prefix.with_key(m.key.expose()), &given))
}

/// A price as a shop writes one: no leading zeros (`050`, `08.00`), which
/// would let the plain-concatenation sign be split in yet more ways.
fn plain_price(price: &str) -> bool {
    let int = price.split('.').next().unwrap_or("");
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && (int == "0" || !int.starts_with('0'))
}

/// `createOrder`. Its sign is `md5(payId + param + type + price + key)`, a
/// plain concatenation: whoever holds a signed URL (the payer, with
/// `isHtml=1`) may move characters between the fields and keep the sign
/// (`param=""&price=128.00` → `param=21&price=8.00`). The gateway cannot
/// tell those apart; what it does: no leading zeros in `price`; the
/// notification says the price and payId the order was made with, which
/// the shop must compare with its own order (docs/shops.md); and a
/// merchant with `vmq_server_only` takes no `isHtml=1` at all, so no payer
/// ever holds a signed create URL.
async fn create(app: &Shared, f: &Fields, client: ClientAddr, html: bool) -> ApiResult<Order> {
    let pay_id = f.required("payId")?;
    let price = f.required("price")?;
    let kind = f.required("type")?;
    let notify_url = f.required("notifyUrl")?;
    let given = f.required("sign")?;
    let param = f.get("param").unwrap_or("");
    let signed = signed_by(&[pay_id, param, kind, price], given)?;
    let merchant = app
        .authenticate(client, async { merchant_by_key(app, &signed).await?.ok_or_else(|| ApiError::new(ErrorCode::BadSignature)) })
        .await?;
    if html && merchant.settings.vmq_server_only {
        return Err(ApiError::field(
            ErrorCode::MalformedField,
            "isHtml=1 is off for this merchant (vmq_server_only): create orders from the shop's server and send the payer to payUrl",
        ));
    }
    let channel = match kind {
        "1" => Channel::P902,
        "2" => Channel::P901,
        _ => return Err(ApiError::field(ErrorCode::MalformedField, "type must be 1 (WeChat) or 2 (Alipay)")),
    };
    if !plain_price(price) {
        return Err(ApiError::field(ErrorCode::InvalidAmount, "price must be a plain decimal without leading zeros"));
    }
    check_param(param)?;
    // With isHtml=1 the payer's browser is asking: its address is the
    // payer's, for the per-payer cap. From the shop's server there is none.
    let ip = if html { client.payer() } else { String::new() };
    let draft = NewOrderRequest {
        merchant,
        order_no: pay_id,
        channel,
        subject: "",
        amount: price,
        notify_url,
        return_url: f.get("returnUrl").unwrap_or(""),
        ip: &ip,
        order_time: "",
        dialect: Dialect::Vmq,
        shop_data: echo(&Echo { price: price.to_owned(), param: param.to_owned(), kind: kind.to_owned() }),
        cap_payerless: true,
    };
    super::create(app, draft).await
}

/// `data` of `createOrder` and `getOrder`, with V免签's meanings: `payType`
/// 1 WeChat / 2 Alipay, `state` 0 waiting / 1 paid / -1 expired or closed,
/// `timeOut` in minutes, `date` in unix seconds, `isAuto` 1 when the
/// payable amount differs from the price. Amounts are JSON numbers written
/// from their decimal text, never through a float.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderData {
    pay_id: String,
    order_id: String,
    pay_type: u8,
    price: Box<RawValue>,
    really_price: Box<RawValue>,
    pay_url: String,
    is_auto: u8,
    state: i8,
    time_out: i64,
    date: i64,
}

fn number(decimal: &str) -> ApiResult<Box<RawValue>> {
    request::number(decimal, "price")
}

fn describe(app: &Shared, order: &Order) -> ApiResult<OrderData> {
    let price = read_echo::<Echo>(order, Dialect::Vmq).map(|e| e.price).unwrap_or_else(|_| order.order_fen.to_string());
    Ok(OrderData {
        pay_id: order.order_no.to_string(),
        order_id: order.id.to_string(),
        pay_type: order.channel.vmq_type(),
        price: number(&price)?,
        really_price: number(&order.payable_fen.to_string())?,
        pay_url: checkout_url(app, &order.id),
        is_auto: u8::from(order.payable_fen != order.order_fen),
        state: match order.state_at(app.domain.now()) {
            OrderState::Confirmed => 1,
            s if s.is_open() => 0,
            _ => -1,
        },
        time_out: order.ttl_secs() / 60,
        date: order.created_at,
    })
}

async fn find(app: &Shared, f: &Fields) -> Result<Order, Response> {
    let id = f.get("orderId").ok_or_else(|| refusal("orderId 必填 / orderId is required"))?;
    crate::error::find_order(app, id)
        .await
        .map_err(|e| if e.is_internal() { refusal(e.message) } else { refusal("云端订单编号不存在 / no such order") })
}

async fn get_order(State(app): State<Shared>, req: Request) -> Response {
    let f = match params(req).await {
        Ok(f) => f,
        Err(e) => return refusal(e.message),
    };
    match find(&app, &f).await {
        Ok(order) => describe(&app, &order).map_or_else(|e| refusal(e.message), ok),
        Err(r) => r,
    }
}

/// `code` 1 with the return address once paid; -1 while not (or never).
async fn check_order(State(app): State<Shared>, req: Request) -> Response {
    let f = match params(req).await {
        Ok(f) => f,
        Err(e) => return refusal(e.message),
    };
    let order = match find(&app, &f).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match order.state_at(app.domain.now()) {
        OrderState::Confirmed => {
            let key = app.domain.merchant(order.merchant_id).await.ok().flatten().map(|m| m.key);
            let back = key.and_then(|k| crate::dialects().return_link(&order, k.expose())).unwrap_or_default();
            ok(back)
        }
        s if s.is_open() => refusal("订单未支付 / not paid yet"),
        _ => refusal("订单已过期 / the order expired or was closed"),
    }
}

/// `closeOrder?orderId&sign=md5(orderId + key)`: the merchant closes an
/// unpaid order of its own.
async fn close_order(State(app): State<Shared>, client: ClientAddr, req: Request) -> Response {
    let f = match params(req).await {
        Ok(f) => f,
        Err(e) => return refusal(e.message),
    };
    let (Some(id), Some(given)) = (f.get("orderId"), f.get("sign")) else {
        return refusal("orderId 与 sign 必填 / orderId and sign are required");
    };
    let found = app
        .authenticate(client, async {
            let signed = signed_by(&[id], given)?;
            merchant_by_key(&app, &signed).await?.ok_or_else(|| ApiError::new(ErrorCode::BadSignature))
        })
        .await;
    let merchant = match found {
        Ok(m) => m,
        Err(e) => return refusal(e.message),
    };
    let order = match find(&app, &f).await {
        Ok(o) if o.merchant_id == merchant.id => o,
        Ok(_) => return refusal("云端订单编号不存在 / no such order"),
        Err(r) => return r,
    };
    match app.domain.close_by_merchant(&order, "V免签 closeOrder").await {
        Ok(_) => ok(Value::Null),
        Err(e) => refusal(ApiError::from(e).message),
    }
}

/// How far `getState`'s `t` may be from now.
const STATE_WINDOW_SECS: i64 = 300;

/// `getState`'s `t`: a canonical epoch time, 10 digits (seconds) or 13
/// (milliseconds), within [`STATE_WINDOW_SECS`] of `now`. No sign a payer
/// ever sees (a return link's, an isHtml create URL's) signs such a text,
/// so none of them is a getState credential.
fn fresh_epoch(t: &str, now: i64) -> bool {
    let canonical = matches!(t.len(), 10 | 13) && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0');
    let Some(secs) = t.parse::<i64>().ok().filter(|_| canonical).map(|v| if t.len() == 13 { v / 1000 } else { v }) else {
        return false;
    };
    (secs - now).abs() <= STATE_WINDOW_SECS
}

/// `getState?t&sign=md5(t + key)`: the monitor's state as V免签 reports
/// it — the last heartbeat of any collector, the last payment, and
/// `jkstate` 1 while a collector is online.
async fn get_state(State(app): State<Shared>, client: ClientAddr, req: Request) -> Response {
    let f = match params(req).await {
        Ok(f) => f,
        Err(e) => return refusal(e.message),
    };
    let (Some(t), Some(given)) = (f.get("t"), f.get("sign")) else {
        return refusal("t 与 sign 必填 / t and sign are required");
    };
    if !fresh_epoch(t, app.domain.now()) {
        return refusal("t 须为当前时间戳 / t must be the current unix time, in seconds or milliseconds");
    }
    let found = app
        .authenticate(client, async {
            let signed = signed_by(&[t], given)?;
            merchant_by_key(&app, &signed).await?.ok_or_else(|| ApiError::new(ErrorCode::BadSignature))
        })
        .await;
    let merchant: Merchant = match found {
        Ok(m) => m,
        Err(e) => return refusal(e.message),
    };
    let state = async {
        let s = app.domain.monitor_state(merchant.id).await?;
        Ok::<_, jiufu_store::StoreError>(json!({"lastheart": s.last_heart, "lastpay": s.last_pay, "jkstate": i32::from(s.online)}))
    };
    match state.await {
        Ok(data) => ok(data),
        Err(e) => refusal(ApiError::from(e).message),
    }
}

/// The signed parameters of a paid order: `payId, param, type, price`
/// (the order price as sent), `reallyPrice` (what was paid) and
/// `sign = md5(payId + param + type + price + reallyPrice + key)`.
fn paid_params(order: &Order, key: &str) -> Result<Vec<(&'static str, String)>, String> {
    let echo: Echo = read_echo(order, Dialect::Vmq)?;
    let really = order.payable_fen.to_string();
    let sign = vmq_notify_sign(order.order_no.as_str(), &echo.param, &echo.kind, &echo.price, &really, key);
    Ok(vec![
        ("payId", order.order_no.to_string()),
        ("param", echo.param),
        ("type", echo.kind),
        ("price", echo.price),
        ("reallyPrice", really),
        ("sign", sign),
    ])
}

/// GET `notifyUrl` with the signed parameters; delivered on the body `success`.
pub fn notification(order: &Order, key: &str) -> Result<Outgoing, String> {
    let query = encode_query(&paid_params(order, key)?);
    Ok(Outgoing { url: append_query(&order.notify_url, &query), json: None, headers: Vec::new(), ack: Ack::OneOf(&["success"]) })
}

/// `returnUrl` with the same signed parameters, as V免签 sends the payer back.
pub fn return_url(order: &Order, key: &str) -> Result<String, String> {
    Ok(append_query(&order.return_url, &encode_query(&paid_params(order, key)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_have_no_leading_zeros() {
        for ok in ["8", "8.00", "128.00", "0.5", "0.01", "10"] {
            assert!(plain_price(ok), "{ok}");
        }
        for bad in ["050", "08.00", "00.5", "0128", "", ".5"] {
            assert!(!plain_price(bad), "{bad}");
        }
    }

    #[test]
    fn get_state_takes_only_a_current_epoch() {
        let now = 1_700_000_000;
        for ok in ["1700000000", "1700000299", "1699999701", "1700000000000", "1700000123456"] {
            assert!(fresh_epoch(ok, now), "{ok}");
        }
        for bad in [
            "1700000301",
            "1699999000",
            "0170000000",
            "170000000",
            "17000000000",
            "+1700000000",
            "1700000000.0",
            "20220201030210321",
            "A12128.00",
            "",
        ] {
            assert!(!fresh_epoch(bad, now), "{bad}");
        }
    }
}
