//! `POST /transfer/{order_id}/paid`: the customer's "我已付款 / I have
//! paid" (5 → 8), which asks the payee to look for the payment.
//!
//! Accepted only from the gateway's own checkout page ([`super::origin`]),
//! and at most [`MAX_CLAIMS`](crate::domain::order::MAX_CLAIMS) times in an order's life (counted from its
//! history), so nobody can make the payee's collector ring endlessly by
//! claiming again after each rejection. Scripts get JSON
//! `{"success":…,"state":…}` or `{"success":false,"error":CODE,"errorMsg":…}`;
//! a plain form gets a redirect back to the order page, or a page saying why
//! not. Nothing changes on a refusal.

use super::texts::Lang;
use super::{NotFoundPage, PageQuery, html, language, origin};
use crate::Shared;
use crate::domain::ClaimRefused;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiufu_protocol::OrderState;
use serde_json::json;

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    t: &'a super::Texts,
    lang: Lang,
    id: &'a str,
    kind: &'a str,
    title: &'a str,
    body: &'a str,
    back: Option<String>,
}

/// How to answer: JSON to the page's script, pages to a plain form.
struct Reply<'a> {
    json: bool,
    lang: Lang,
    order_id: &'a str,
}

impl Reply<'_> {
    fn back_to_order(&self) -> Response {
        Redirect::to(&format!("/transfer/{}", self.order_id)).into_response()
    }

    fn claimed(&self, state: OrderState) -> Response {
        if self.json { axum::Json(json!({"success": true, "state": state.code()})).into_response() } else { self.back_to_order() }
    }

    /// A refusal with its own page: `id` names it in the page and in JSON.
    fn refused(&self, status: StatusCode, id: &str, title: &str, body: &str) -> Response {
        if self.json {
            return (status, axum::Json(json!({"success": false, "error": id, "title": title, "errorMsg": body}))).into_response();
        }
        let t = self.lang.texts();
        let back = Some(format!("/transfer/{}", self.order_id));
        let page = NoticePage { t, lang: self.lang, id: &id.replace('_', "-"), kind: "claimed", title, body, back };
        html(status, page.render(), self.lang, false)
    }

    /// The order's state takes no claim (already 8, paid, expired, closed):
    /// the order page shows why.
    fn not_now(&self, state: Option<OrderState>) -> Response {
        if self.json {
            let msg = self.lang.texts().claim_refused;
            return axum::Json(json!({"success": false, "error": "wrong_state", "errorMsg": msg, "state": state.map(|s| s.code())}))
                .into_response();
        }
        self.back_to_order()
    }

    fn not_found(&self) -> Response {
        if self.json {
            return (StatusCode::NOT_FOUND, axum::Json(json!({"success": false, "error": "not_found", "errorMsg": "no such order"})))
                .into_response();
        }
        let t = self.lang.texts();
        html(StatusCode::NOT_FOUND, NotFoundPage { t, lang: self.lang }.render(), self.lang, false)
    }

    /// A failure of the gateway: its cause is in the log already.
    fn internal(&self) -> Response {
        let t = self.lang.texts();
        if self.json {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"success": false, "error": "internal", "errorMsg": t.error_body})),
            )
                .into_response();
        }
        let page = NoticePage { t, lang: self.lang, id: "error", kind: "closed", title: t.error_title, body: t.error_body, back: None };
        html(StatusCode::INTERNAL_SERVER_ERROR, page.render(), self.lang, false)
    }
}

/// A shop's create request that was refused (易支付 `/submit.php`): the
/// payer's browser gets a page saying so, and why, and no redirect.
pub fn refused_page(headers: &HeaderMap, status: StatusCode, reason: &str) -> Response {
    let (lang, _) = language(&PageQuery::default(), headers);
    let t = lang.texts();
    let body = format!("{}{reason}", t.shop_refused_body);
    let page = NoticePage { t, lang, id: "shop-refused", kind: "closed", title: t.shop_refused_title, body: &body, back: None };
    html(status, page.render(), lang, false)
}

/// The generic page of a failure of the gateway (its cause is in the log).
pub(super) fn internal_error_page(lang: Lang) -> Response {
    Reply { json: false, lang, order_id: "" }.internal()
}

pub async fn paid(State(app): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let json = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    let (lang, _) = language(&PageQuery::default(), &headers);
    let reply = Reply { json, lang, order_id: &id };
    let t = lang.texts();

    if let Err(why) = origin::check(&headers, &app.config.public_url) {
        tracing::warn!(order = %id, %why, "claim refused: not from the checkout page");
        return reply.refused(StatusCode::FORBIDDEN, "cross_origin", t.cross_origin_title, t.cross_origin_body);
    }
    let order = match crate::error::find_order(&app, &id).await {
        Ok(o) => o,
        Err(e) if e.is_internal() => return reply.internal(),
        Err(_) => return reply.not_found(),
    };
    match app.domain.claim(&order).await {
        Ok(o) => reply.claimed(o.state),
        Err(ClaimRefused::Limit(_)) => reply.refused(StatusCode::TOO_MANY_REQUESTS, "claim_limit", t.claim_limit_title, t.claim_limit_body),
        Err(ClaimRefused::NotNow(state)) => reply.not_now(state),
        // Logged by the domain.
        Err(ClaimRefused::Store(_)) => reply.internal(),
    }
}
