//! The generic signed push (`collector.md` §1c, HMAC with the push key)
//! for Tasker, shortcuts and scripts. Times are read as canonical integers
//! and replay keys made of canonical values.

use super::MAX_SKEW_MS;
use super::lan::{Push, Shape, Shared, canonical_time, fresh};
use crate::parser::Notice;
use crate::{Delivery, Observed, Posted, ReplayKey, now_ms};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::{Channel, Fen, sign};
use serde_json::json;

fn refuse(status: StatusCode, msg: &str) -> Response {
    Shape::Forward.refuse(status, msg)
}

fn accepted() -> Response {
    Json(json!({"code": 1, "msg": "ok"})).into_response()
}

#[derive(serde::Deserialize)]
struct GenericPush {
    channel: Channel,
    amount: String,
    #[serde(default)]
    text: String,
}

pub async fn generic(State(lan): State<Shared>, push: Push) -> Response {
    let c = &lan.c;
    let header = push.headers.get("x-jiufu-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return refuse(StatusCode::UNAUTHORIZED, "missing X-Jiufu-Signature t=…,v1=…");
    };
    let Some(t_s) = canonical_time(&t) else {
        return refuse(StatusCode::UNAUTHORIZED, "bad t: epoch seconds, digits only, no leading zero");
    };
    let expected = sign::hmac_sha256_hex(c.key.expose().as_bytes(), &[t.as_bytes(), b".", &push.body]);
    if !sign::hex_digest_eq(&expected, &v1) {
        push.bad_sign(&lan);
        c.touch(SourceKind::Generic, Some("bad signature".into()));
        return refuse(StatusCode::UNAUTHORIZED, "bad signature");
    }
    if !fresh(t_s.saturating_mul(1000)) {
        return refuse(StatusCode::UNAUTHORIZED, "timestamp is not within 5 minutes of the collector's clock");
    }
    // What was signed, canonically: the time and the exact body. Used up
    // whatever the body turns out to be.
    let digest = sign::sha256_hex(&push.body);
    let replay = ReplayKey { key: format!("generic:{t_s}:{digest}"), expires_at: t_s * 1000 + 2 * MAX_SKEW_MS };
    let parsed = serde_json::from_slice::<GenericPush>(&push.body)
        .map_err(|e| format!("bad body: {e}"))
        .and_then(|p| Fen::parse_yuan(&p.amount).map(|a| (p, a)).map_err(|_| "bad amount".to_owned()));
    let (push_body, amount) = match parsed {
        Ok(p) => p,
        Err(why) => {
            return match c.use_up(Some(replay)).await {
                Ok(true) => refuse(StatusCode::BAD_REQUEST, &why),
                Ok(false) => refuse(StatusCode::CONFLICT, "replayed"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot store a replay key");
                    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            };
        }
    };
    let notice = Notice { app: "generic".into(), title: String::new(), text: push_body.text };
    // The replay key is the push's fingerprint ({t, body}), and `t` is fresh
    // for 5 minutes only: the same push can never come again once it expires.
    let delivery = Delivery { replay: Some(replay), posted: Posted::default() };
    match c.observe(SourceKind::Generic, push_body.channel, amount, now_ms(), notice, delivery).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => accepted(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
