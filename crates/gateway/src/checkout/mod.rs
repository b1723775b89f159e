//! The hosted checkout page `/transfer/{order_id}` and its small helpers.
//! Rendered on the server with askama (every value escaped); the script
//! only adds the countdown, polling and the automatic move on; without it
//! the page refreshes itself and the "I have paid" form still works.

mod claim;
mod origin;
mod texts;

use crate::{Shared, clock};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
pub use claim::refused_page;
use jiufu_store::Order;
use serde::Deserialize;
pub use texts::Lang;
use texts::Texts;

const CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/transfer/{order_id}", get(page))
        .route("/transfer/{order_id}/paid", post(claim::paid))
        .route("/transfer/{order_id}/qr.png", get(qr_png))
        .route("/static/checkout.css", get(|| async { asset("text/css; charset=utf-8", include_str!("../../static/checkout.css")) }))
        .route("/static/checkout.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../static/checkout.js")) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    t: &'a Texts,
    lang: Lang,
    order_id: &'a str,
    subject: &'a str,
    order_no: &'a str,
    /// The state's code, for the page's class and for noticing a change;
    /// what the page shows follows the booleans.
    state: i32,
    waiting: bool,
    claimed: bool,
    paid: bool,
    expired: bool,
    payable: String,
    order_amount: String,
    show_order_amount: bool,
    channel_name: &'a str,
    channel_code: &'a str,
    scan_with: String,
    open_app: Option<(String, String)>,
    save_hint: String,
    remaining: i64,
    expire_time: String,
    redirect: Option<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    t: &'a Texts,
    lang: Lang,
}

/// The page's language: `?lang=`, then the cookie, then `Accept-Language`.
fn language(query: &PageQuery, headers: &HeaderMap) -> (Lang, bool) {
    if let Some(lang) = query.lang.as_deref().and_then(Lang::parse) {
        return (lang, true);
    }
    let cookie = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == "jiufu_lang").then(|| Lang::parse(v)).flatten()
    });
    if let Some(lang) = cookie {
        return (lang, false);
    }
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (Lang::from_accept_language(accept), false)
}

fn html(status: StatusCode, body: Result<String, askama::Error>, lang: Lang, remember: bool) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut resp = (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Same-origin requests carry the page's origin (the "I have paid" claim
    // is checked against it); other sites never learn the order's address.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if remember {
        let cookie = format!("jiufu_lang={}; Path=/transfer; Max-Age=31536000; SameSite=Lax", lang.param());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.insert(SET_COOKIE, v);
        }
    }
    resp
}

/// A link that opens the channel's app on the phone, where the app allows it.
fn app_link(order: &Order) -> Option<String> {
    let alipay = order.qr_text.starts_with("https://qr.alipay.com/") || order.qr_text.starts_with("HTTPS://QR.ALIPAY.COM/");
    (order.channel == jiufu_protocol::Channel::P901 && alipay).then(|| {
        let encoded: String = url::form_urlencoded::byte_serialize(order.qr_text.as_bytes()).collect();
        format!("alipays://platformapi/startapp?saId=10000007&qrcode={encoded}")
    })
}

async fn page(State(app): State<Shared>, Path(id): Path<String>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let (lang, remember) = language(&q, &headers);
    let t = lang.texts();
    let order = match crate::error::find_order(&app, &id).await {
        Ok(o) => o,
        Err(e) if e.is_internal() => return claim::internal_error_page(lang),
        Err(_) => {
            return html(StatusCode::NOT_FOUND, NotFoundPage { t, lang }.render(), lang, remember);
        }
    };
    let now = app.domain.now();
    let state = order.state_at(now);
    // Once paid, back to the shop in the order's own protocol.
    let redirect = if state.is_paid() && !order.return_url.is_empty() {
        match app.domain.merchant(order.merchant_id).await {
            Ok(Some(m)) => crate::dialects().return_link(&order, m.key.expose()),
            _ => None,
        }
    } else {
        None
    };
    let name = match lang {
        Lang::Zh => order.channel.name_zh(),
        Lang::En => order.channel.name_en(),
    };
    let page = CheckoutPage {
        t,
        lang,
        order_id: order.id.as_str(),
        subject: &order.subject,
        order_no: order.order_no.as_str(),
        state: state.code(),
        waiting: state.is_waiting(),
        claimed: state.is_claimed(),
        paid: state.is_paid(),
        expired: state.is_expired(),
        payable: order.payable_fen.to_string(),
        order_amount: order.order_fen.to_string(),
        show_order_amount: order.order_fen != order.payable_fen,
        channel_name: name,
        channel_code: order.channel.code(),
        scan_with: t.scan_with.replace("{}", name),
        open_app: app_link(&order).map(|link| (link, t.open_app.replace("{}", name))),
        save_hint: t.save_hint.replace("{}", name),
        remaining: (order.expire_at - now).max(0),
        expire_time: clock::format(order.expire_at, app.config.timezone),
        redirect,
    };
    html(StatusCode::OK, page.render(), lang, remember)
}

async fn qr_png(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    match crate::error::find_order(&app, &id).await {
        Ok(o) if o.state_at(app.domain.now()).is_waiting() => {
            let png = app.qr.png(&o.qr_text);
            ([(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "private, max-age=60")], png.as_ref().clone()).into_response()
        }
        // The cause is in the log; the image is simply not there.
        Err(e) if e.is_internal() => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
