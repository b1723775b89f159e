//! 易支付 (EPay) V1, with the gateway root as the shop's "apiurl":
//! `/submit.php` (the payer's browser, 302 to the checkout), `/mapi.php`
//! (the shop's server, JSON with `payurl`), `/api.php?act=order` (lookup),
//! and the GET notification and return redirect signed with the
//! sorted-parameter md5.

use super::{channel_by_name, channel_name, checkout_url, echo, merchant_by_pid, read_echo};
use crate::checkout::refused_page;
use crate::dialect::fields::Fields;
use crate::dialect::request::{check_param, params};
use crate::dialect::{Ack, Outgoing, ShopDialect, append_query, encode_query};
use crate::domain::NewOrderRequest;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use crate::{Shared, clock};
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiufu_protocol::shop_sign::epay_sign;
use jiufu_protocol::{Dialect, ErrorCode, OrderState, sign};
use jiufu_store::{Merchant, Order};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt::Write;

/// 易支付 V1 as a plug-in.
pub struct Epay;

impl ShopDialect for Epay {
    fn ids(&self) -> &'static [Dialect] {
        &[Dialect::Epay]
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
        let _ = writeln!(s, "易支付 EPay V1 (独角数卡 epay, 彩虹易支付 SDK plugins, SSPanel, new-api …)");
        let _ = writeln!(s, "  接口地址 apiurl      : {base}/");
        let _ = writeln!(s, "  商户ID pid           : {}", merchant.id);
        let _ = writeln!(s, "  商户密钥 key         : {}", merchant.key.expose());
        s
    }

    /// `/mapi.php`'s shape: `{"code":-1,"msg":…}`.
    fn refusal(&self, e: ApiError) -> Response {
        refusal(-1, &e.message).into_response()
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/submit.php", get(submit).post(submit))
        .route("/payments/epay/v1/order/create-transaction/submit.php", get(submit).post(submit))
        .route("/mapi.php", get(mapi).post(mapi))
        .route("/api.php", get(api))
}

/// What the notification echoes back exactly as the shop sent it.
#[derive(Debug, Serialize, Deserialize)]
struct Echo {
    /// `type` as sent (`alipay`, `wxpay`, …).
    kind: String,
    /// `money` as sent (`10`, `10.0`, `10.00`): shops compare it with their own.
    money: String,
    param: String,
}

/// Authenticates a create request and creates (or finds again) its order.
/// Required fields first, then the merchant and the sign, then each
/// field's rules: nothing about the content is said before the sign holds.
async fn create(app: &Shared, f: &Fields, client: ClientAddr, ip: &str) -> ApiResult<Order> {
    let pid = f.required("pid")?;
    let kind = f.required("type")?;
    let out_trade_no = f.required("out_trade_no")?;
    let notify_url = f.required("notify_url")?;
    let name = f.required("name")?;
    let money = f.required("money")?;
    let given = super::hex_signature(f.required("sign")?)?;
    let merchant = app
        .authenticate(client, async {
            let merchant = merchant_by_pid(app, pid).await?;
            verify(f, &merchant, given)?;
            Ok(merchant)
        })
        .await?;
    let channel =
        channel_by_name(kind).ok_or_else(|| ApiError::field(ErrorCode::MalformedField, "type must be alipay, wxpay, qqpay or bank"))?;
    let param = check_param(f.get("param").unwrap_or(""))?;
    let shop_data = echo(&Echo { kind: kind.to_owned(), money: money.to_owned(), param: param.to_owned() });
    let draft = NewOrderRequest {
        merchant,
        order_no: out_trade_no,
        channel,
        subject: name,
        amount: money,
        notify_url,
        return_url: f.get("return_url").unwrap_or(""),
        ip,
        order_time: "",
        dialect: Dialect::Epay,
        shop_data,
        cap_payerless: true,
    };
    super::create(app, draft).await
}

/// Every parameter received but `sign` and `sign_type`, unknown ones
/// included, must be what the merchant's key signed.
fn verify(f: &Fields, merchant: &Merchant, given: &str) -> ApiResult<()> {
    let pairs: Vec<(&str, &str)> = f.pairs().collect();
    let expected = epay_sign(&pairs, merchant.key.expose());
    if sign::hex_digest_eq(&expected, given) { Ok(()) } else { Err(ApiError::new(ErrorCode::BadSignature)) }
}

/// `/submit.php`: the payer's browser arrives with the shop's form; a good
/// one goes on to the checkout, a bad one gets a page saying why.
/// The payer is the browser asking: its address (through the trusted
/// proxies) is the payer's for the per-payer cap, whatever `clientip` says.
async fn submit(State(app): State<Shared>, client: ClientAddr, headers: HeaderMap, req: Request) -> Response {
    let result = match params(req).await {
        Ok(f) => create(&app, &f, client, &client.payer()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(order) => super::found(&checkout_url(&app, &order.id)),
        Err(e) => {
            let status = if e.is_internal() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
            refused_page(&headers, status, &e.message)
        }
    }
}

/// `/mapi.php`: the shop's server asks, and sends the payer to `payurl`.
/// No bare `qrcode` is answered: it would hide the payable amount.
/// The payer's address is the signed `clientip` the shop's server sends
/// (an IP address; anything else counts as none).
async fn mapi(State(app): State<Shared>, client: ClientAddr, req: Request) -> Json<Value> {
    let result = match params(req).await {
        Ok(f) => {
            let payer = f.get("clientip").and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok()).map(|ip| ip.to_string());
            create(&app, &f, client, payer.as_deref().unwrap_or("")).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(order) => Json(json!({"code": 1, "msg": "succ", "trade_no": order.id, "payurl": checkout_url(&app, &order.id)})),
        Err(e) => refusal(-1, &e.message),
    }
}

fn refusal(code: i32, msg: &str) -> Json<Value> {
    Json(json!({"code": code, "msg": msg}))
}

/// `/api.php?act=order`: the shop's server looks an order up, authenticated
/// by the plain `key` (as the PHP SDK sends it) or by a `sign` over the query.
async fn api(State(app): State<Shared>, client: ClientAddr, req: Request) -> Json<Value> {
    match lookup(&app, client, req).await {
        Ok(v) => Json(v),
        Err((code, msg)) => refusal(code, &msg),
    }
}

/// The plain `key` of `api.php` against the merchant's: both hashed first,
/// so the constant-time comparison is of two equally long digests and its
/// time says nothing of the key's length.
fn key_matches(expected: &str, given: &str) -> bool {
    sign::bytes_eq(sign::sha256_hex(expected.as_bytes()).as_bytes(), sign::sha256_hex(given.as_bytes()).as_bytes())
}

async fn lookup(app: &Shared, client: ClientAddr, req: Request) -> Result<Value, (i32, String)> {
    let f = Fields::query(req.uri().query()).map_err(|e| (-1, e.message))?;
    let wrong_key = || (-3, "KEY校验失败 / wrong key or sign".to_owned());
    let authenticated = app
        .authenticate(client, async {
            let merchant = merchant_by_pid(app, f.get("pid").unwrap_or(""))
                .await
                .map_err(|e| if e.is_internal() { e } else { ApiError::new(ErrorCode::UnknownMerchant) })?;
            let ok = match (f.get("key"), f.get("sign")) {
                (Some(key), _) => key_matches(merchant.key.expose(), key),
                (None, Some(given)) => verify(&f, &merchant, given).is_ok(),
                (None, None) => false,
            };
            if ok { Ok(merchant) } else { Err(ApiError::new(ErrorCode::BadSignature)) }
        })
        .await;
    let merchant = match authenticated {
        Ok(m) => m,
        Err(e) if e.is_internal() => return Err((-1, e.message)),
        Err(_) => return Err(wrong_key()),
    };
    if f.get("act") != Some("order") {
        return Err((-5, "不支持的操作 / unsupported act (only act=order)".to_owned()));
    }
    let not_found = || (-1, "订单号不存在 / no such order".to_owned());
    let order = match (f.get("trade_no"), f.get("out_trade_no")) {
        (Some(id), _) => match crate::error::find_order(app, id).await {
            Ok(o) => Some(o).filter(|o| o.merchant_id == merchant.id),
            Err(e) if e.is_internal() => return Err((-2, e.message)),
            Err(_) => None,
        },
        (None, Some(no)) => app.domain.order_by_no(merchant.id, no).await.map_err(|e| {
            let e = ApiError::from(e);
            (-2, e.message)
        })?,
        (None, None) => return Err((-4, "trade_no 或 out_trade_no 必填 / trade_no or out_trade_no is required".to_owned())),
    }
    .ok_or_else(not_found)?;
    Ok(describe(app, &order))
}

/// An order as `act=order` answers it: the order amount, never the payable one.
fn describe(app: &Shared, order: &Order) -> Value {
    let echo: Option<Echo> = read_echo(order, Dialect::Epay).ok();
    let paid = order.state == OrderState::Confirmed;
    let tz = app.config.timezone;
    json!({
        "code": 1,
        "msg": "succ",
        "trade_no": order.id,
        "out_trade_no": order.order_no,
        "type": echo.as_ref().map(|e| e.kind.clone()).unwrap_or_else(|| channel_name(order.channel).to_owned()),
        "pid": order.merchant_id,
        "name": order.subject,
        "money": echo.as_ref().map(|e| e.money.clone()).unwrap_or_else(|| order.order_fen.to_string()),
        "param": echo.as_ref().map(|e| e.param.clone()).unwrap_or_default(),
        "status": i32::from(paid),
        "trade_status": if paid { "TRADE_SUCCESS" } else { "WAIT_BUYER_PAY" },
        "addtime": clock::format(order.created_at, tz),
        "endtime": order.paid_at.map(|t| clock::format(t, tz)),
        "payurl": checkout_url(app, &order.id),
    })
}

/// The signed parameters of a paid order, for the notification and the
/// return redirect alike: exactly the values sent are signed.
fn paid_params(order: &Order, key: &str) -> Result<Vec<(&'static str, String)>, String> {
    let echo: Echo = read_echo(order, Dialect::Epay)?;
    let mut params = vec![
        ("pid", order.merchant_id.to_string()),
        ("trade_no", order.id.to_string()),
        ("out_trade_no", order.order_no.to_string()),
        ("type", echo.kind),
        ("name", order.subject.clone()),
        ("money", echo.money),
        ("trade_status", "TRADE_SUCCESS".to_owned()),
    ];
    if !echo.param.is_empty() {
        params.push(("param", echo.param));
    }
    let sign = epay_sign(&params, key);
    params.push(("sign", sign));
    params.push(("sign_type", "MD5".to_owned()));
    Ok(params)
}

/// GET `notify_url` with the signed parameters; delivered when the body is
/// `success` (trimmed, any case) — not merely contains it: "unsuccessful"
/// or an error page quoting the word is no acknowledgement.
pub fn notification(order: &Order, key: &str) -> Result<Outgoing, String> {
    let query = encode_query(&paid_params(order, key)?);
    Ok(Outgoing { url: append_query(&order.notify_url, &query), json: None, headers: Vec::new(), ack: Ack::OneOf(&["success"]) })
}

/// `return_url` with the same signed parameters: shops verify them like the
/// notification. The sign covers money and status, so the payer seeing it
/// learns nothing that lets them forge another.
pub fn return_url(order: &Order, key: &str) -> Result<String, String> {
    Ok(append_query(&order.return_url, &encode_query(&paid_params(order, key)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_key_is_compared_as_digests() {
        assert!(key_matches("Jf8x2kQm9TzR4wLp", "Jf8x2kQm9TzR4wLp"));
        for wrong in ["", "J", "Jf8x2kQm9TzR4wL", "Jf8x2kQm9TzR4wLpX", "jf8x2kqm9tzr4wlp"] {
            assert!(!key_matches("Jf8x2kQm9TzR4wLp", wrong), "{wrong}");
        }
    }
}
