//! epusdt, classic (`POST /api/v1/order/create-transaction`, md5) and
//! GMPay (`POST /payments/gmpay/v1/order/create-transaction`, HMAC-SHA256,
//! `pid` and `currency`), with their checkout counter, status check and
//! JSON notification. GMPay is epusdt v2: one module, two flavours.

use super::{channel_by_name, checkout_url, default_channel, echo, hex_signature, merchant_by_key, merchant_by_pid, read_echo};
use crate::Shared;
use crate::dialect::fields::{Fields, read_body};
use crate::dialect::request;
use crate::dialect::{Ack, Outgoing, ShopDialect};
use crate::domain::NewOrderRequest;
use crate::error::{ApiError, ApiResult};
use crate::net::client::ClientAddr;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiufu_protocol::shop_sign::{Md5Prefix, epusdt_signature, epusdt_signing_string, gmpay_signature, json_fields};
use jiufu_protocol::{Dialect, ErrorCode, Fen, OrderId, OrderState, sign};
use jiufu_store::{Merchant, Order};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::fmt::Write;

/// epusdt classic and GMPay (epusdt v2) as one plug-in.
pub struct Epusdt;

impl ShopDialect for Epusdt {
    fn ids(&self) -> &'static [Dialect] {
        &[Dialect::Epusdt, Dialect::Gmpay]
    }

    fn routes(&self) -> Router<Shared> {
        routes()
    }

    fn notification(&self, order: &Order, key: &str, _at: i64) -> Result<Outgoing, String> {
        notification(order, key)
    }

    /// epusdt sends the payer back to its redirect_url as given.
    fn return_link(&self, order: &Order, _key: &str) -> Result<String, String> {
        Ok(order.return_url.clone())
    }

    fn settings(&self, base: &str, merchant: &Merchant) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "epusdt (classic) / GMPay (epusdt v2)");
        let _ = writeln!(s, "  API 地址 api URL     : {base}");
        let _ = writeln!(s, "    classic            : {base}/api/v1/order/create-transaction");
        let _ = writeln!(s, "    GMPay              : {base}/payments/gmpay/v1/order/create-transaction");
        let _ = writeln!(s, "  密钥 token / secret  : {}", merchant.key.expose());
        let _ = writeln!(s, "  商户ID pid (GMPay)   : {}", merchant.id);
        s
    }

    fn refusal(&self, e: ApiError) -> Response {
        Refusal::from(e).into_response()
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/order/create-transaction", post(classic))
        .route("/payments/gmpay/v1/order/create-transaction", post(gmpay))
        .route("/pay/checkout-counter/{trade_id}", get(counter))
        .route("/pay/check-status/{trade_id}", get(check_status))
}

/// The longest `order_id` epusdt takes.
const MAX_ORDER_ID: usize = 32;

/// What the notification echoes back.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Echo {
    /// The order amount as signed (canonical decimal text).
    pub amount: String,
    /// A pre-v2 GMPay client signed with md5: it is answered in md5 too.
    #[serde(default)]
    pub md5: bool,
}

/// An epusdt error: HTTP 200, the code in `status_code`, `data` null.
struct Refusal {
    status_code: u32,
    message: String,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let status_code = match e.code {
            _ if e.is_internal() => 500,
            ErrorCode::BadSignature | ErrorCode::UnknownMerchant => 401,
            ErrorCode::OrderNoReused => 10002,
            _ => 400,
        };
        Refusal { status_code, message: e.message }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        Json(json!({"status_code": self.status_code, "message": self.message, "data": null, "request_id": ""})).into_response()
    }
}

/// The body's fields as the shop signed them: JSON members with numbers in
/// shortest form, or form fields as sent.
async fn fields(req: Request) -> ApiResult<Vec<(String, String)>> {
    let json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    if json {
        let body = read_body(req).await?;
        json_fields(&body).map_err(|e| ApiError::field(ErrorCode::MalformedField, e))
    } else {
        let f = Fields::read(req).await?;
        Ok(f.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }
}

fn get_field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn required<'a>(f: &'a [(String, String)], name: &str) -> ApiResult<&'a str> {
    get_field(f, name).ok_or_else(|| ApiError::field(ErrorCode::MalformedField, format!("{name} is required")))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Classic,
    Gmpay,
}

async fn classic(State(app): State<Shared>, client: ClientAddr, req: Request) -> Response {
    create(&app, client, req, Flavor::Classic).await.map_or_else(|e| Refusal::from(e).into_response(), IntoResponse::into_response)
}

async fn gmpay(State(app): State<Shared>, client: ClientAddr, req: Request) -> Response {
    create(&app, client, req, Flavor::Gmpay).await.map_or_else(|e| Refusal::from(e).into_response(), IntoResponse::into_response)
}

/// How a request is signed, from the signing string built once: classic
/// epusdt with md5 (`md5(string + key)`, the string hashed once for every
/// merchant tried), GMPay with HMAC-SHA256 — or, for a merchant whose
/// `gmpay_md5` setting allows pre-v2 clients, a 32-digit md5. Never md5
/// on the GMPay path otherwise: a 32-digit signature is no reason to drop
/// to the weaker construction.
struct Signed<'a> {
    flavor: Flavor,
    string: String,
    md5: Md5Prefix,
    given: &'a str,
}

impl<'a> Signed<'a> {
    fn new(f: &[(String, String)], flavor: Flavor, given: &'a str) -> Signed<'a> {
        let string = epusdt_signing_string(f);
        let md5 = Md5Prefix::new(&[&string]);
        Signed { flavor, string, md5, given }
    }

    /// Whether `merchant`'s key made the signature.
    fn by(&self, merchant: &Merchant) -> bool {
        let key = merchant.key.expose();
        match (self.flavor, self.given.len()) {
            (Flavor::Classic, 32) => sign::hex_digest_eq(&self.md5.with_key(key), self.given),
            (Flavor::Gmpay, 64) => sign::hex_digest_eq(&sign::hmac_sha256_hex(key.as_bytes(), &[self.string.as_bytes()]), self.given),
            (Flavor::Gmpay, 32) if merchant.settings.gmpay_md5 => sign::hex_digest_eq(&self.md5.with_key(key), self.given),
            _ => false,
        }
    }
}

async fn create(app: &Shared, client: ClientAddr, req: Request, flavor: Flavor) -> ApiResult<Json<Value>> {
    let f = fields(req).await?;
    // epusdt's middleware refuses a missing signature as it refuses a
    // wrong one (401), before looking at any other field; so does this.
    let given = hex_signature(get_field(&f, "signature").unwrap_or(""))?;
    let order_id = required(&f, "order_id")?;
    let amount = required(&f, "amount")?;
    let notify_url = required(&f, "notify_url")?;
    if flavor == Flavor::Gmpay {
        required(&f, "pid")?;
        required(&f, "currency")?;
    }
    let signed = Signed::new(&f, flavor, given);
    let merchant: Merchant = app
        .authenticate(client, async {
            match get_field(&f, "pid") {
                Some(pid) => {
                    let m = merchant_by_pid(app, pid).await?;
                    if signed.by(&m) { Ok(m) } else { Err(ApiError::new(ErrorCode::BadSignature)) }
                }
                None => merchant_by_key(app, |m| signed.by(m)).await?.ok_or_else(|| ApiError::new(ErrorCode::BadSignature)),
            }
        })
        .await?;

    if let Some(currency) = get_field(&f, "currency")
        && !currency.eq_ignore_ascii_case("cny")
    {
        return Err(ApiError::field(ErrorCode::MalformedField, "currency must be cny"));
    }
    if order_id.len() > MAX_ORDER_ID {
        return Err(ApiError::field(ErrorCode::MalformedField, format!("order_id is longer than {MAX_ORDER_ID} characters")));
    }
    let channel = match get_field(&f, "type") {
        Some(name) => channel_by_name(name)
            .ok_or_else(|| ApiError::field(ErrorCode::MalformedField, "type must be alipay, wxpay, qqpay, bank or P901-P904"))?,
        // The same request again keeps the channel it was given, even if
        // the merchant's codes changed in between.
        None => match app.domain.order_by_no(merchant.id, order_id).await? {
            Some(existing) => existing.channel,
            None => default_channel(app, merchant.id).await?,
        },
    };
    let md5 = flavor == Flavor::Gmpay && given.len() == 32;
    let draft = NewOrderRequest {
        merchant,
        order_no: order_id,
        channel,
        subject: get_field(&f, "name").unwrap_or(""),
        amount,
        notify_url,
        return_url: get_field(&f, "redirect_url").unwrap_or(""),
        ip: "",
        order_time: "",
        dialect: if flavor == Flavor::Gmpay { Dialect::Gmpay } else { Dialect::Epusdt },
        shop_data: echo(&Echo { amount: amount.to_owned(), md5 }),
        cap_payerless: true,
    };
    let order = super::create(app, draft).await?;
    let gmpay = flavor == Flavor::Gmpay;
    let data = Created {
        trade_id: order.id.as_str(),
        order_id: order.order_no.as_str(),
        amount: number(amount)?,
        actual_amount: number(&order.payable_fen.to_string())?,
        token: "",
        expiration_time: order.expire_at,
        payment_url: format!("{}/pay/checkout-counter/{}", app.config.public_url, order.id),
        currency: gmpay.then_some("cny"),
        status: gmpay.then_some(1),
        receive_address: gmpay.then_some(""),
    };
    Ok(Json(json!({"status_code": 200, "message": "success", "data": data, "request_id": ""})))
}

/// The reply's `data`. Amounts are JSON numbers written from their decimal
/// text, never through a float.
#[derive(Serialize)]
struct Created<'a> {
    trade_id: &'a str,
    order_id: &'a str,
    amount: Box<RawValue>,
    actual_amount: Box<RawValue>,
    token: &'a str,
    expiration_time: i64,
    payment_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receive_address: Option<&'a str>,
}

/// A decimal as a JSON number in shortest form (`10.00` → `10`).
fn number(decimal: &str) -> ApiResult<Box<RawValue>> {
    request::number(decimal, "amount")
}

/// The checkout counter is the checkout page.
async fn counter(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    match OrderId::parse(&id) {
        Some(id) => super::found(&checkout_url(&app, &id)),
        None => Refusal::from(ApiError::new(ErrorCode::OrderNotFound)).into_response(),
    }
}

/// 1 waiting, 2 paid, 3 expired or closed.
async fn check_status(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    match crate::error::find_order(&app, &id).await {
        Ok(order) => {
            let status = match order.state_at(app.domain.now()) {
                OrderState::Confirmed => 2,
                s if s.is_open() => 1,
                _ => 3,
            };
            Json(json!({"status_code": 200, "message": "success", "data": {"trade_id": order.id, "status": status}, "request_id": ""}))
                .into_response()
        }
        Err(e) => Refusal::from(e).into_response(),
    }
}

/// POST `notify_url` with `Content-Type: application/json` (shops read the
/// body only then), scalar values only, signed over the values sent;
/// delivered when the trimmed body is `ok` or `success`.
pub fn notification(order: &Order, key: &str) -> Result<Outgoing, String> {
    let echo: Echo = read_echo(order, order.dialect)?;
    let merchant = order.merchant_id.to_string();
    let paid = PaidOrder {
        trade_id: order.id.as_str(),
        order_id: order.order_no.as_str(),
        pid: (order.dialect == Dialect::Gmpay).then_some(merchant.as_str()),
        payable: order.payable_fen,
        echo: &echo,
    };
    let json = paid_body(&paid, key).map_err(|e| format!("order {}: {e}", order.id))?;
    Ok(Outgoing { url: order.notify_url.clone(), json: Some(json), headers: Vec::new(), ack: Ack::OneOf(&["ok", "success"]) })
}

/// What an epusdt notification says of a paid order, as text.
pub(super) struct PaidOrder<'a> {
    pub trade_id: &'a str,
    pub order_id: &'a str,
    /// GMPay names the merchant; classic epusdt does not.
    pub pid: Option<&'a str>,
    pub payable: Fen,
    pub echo: &'a Echo,
}

/// The signed JSON body of a notification (GMPay v2 signs with HMAC, a
/// pre-v2 md5 client and classic epusdt with md5).
pub(super) fn paid_body(paid: &PaidOrder<'_>, key: &str) -> Result<String, String> {
    let unreadable = |_| "an unreadable amount".to_owned();
    let amount = number(&paid.echo.amount).map_err(unreadable)?;
    let actual = number(&paid.payable.to_string()).map_err(unreadable)?;
    let mut signed: Vec<(&str, &str)> = vec![
        ("trade_id", paid.trade_id),
        ("order_id", paid.order_id),
        ("amount", amount.get()),
        ("actual_amount", actual.get()),
        ("token", ""),
        ("block_transaction_id", ""),
        ("status", "2"),
    ];
    if let Some(pid) = paid.pid {
        signed.push(("pid", pid));
    }
    // Only GMPay names the merchant, and only GMPay v2 signs with HMAC.
    let hmac = paid.pid.is_some() && !paid.echo.md5;
    let signature = if hmac { gmpay_signature(&signed, key) } else { epusdt_signature(&signed, key) };
    let body = Paid {
        trade_id: paid.trade_id,
        order_id: paid.order_id,
        amount: &amount,
        actual_amount: &actual,
        token: "",
        block_transaction_id: "",
        status: 2,
        pid: paid.pid,
        signature: &signature,
    };
    serde_json::to_string(&body).map_err(|e| e.to_string())
}

/// The notification's body: scalar values only.
#[derive(Serialize)]
struct Paid<'a> {
    trade_id: &'a str,
    order_id: &'a str,
    amount: &'a RawValue,
    actual_amount: &'a RawValue,
    token: &'a str,
    block_transaction_id: &'a str,
    status: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<&'a str>,
    signature: &'a str,
}
