//! The V免签 monitor app's protocol: `GET /appHeart?t&sign` and
//! `GET /appPush?t&type&price&sign`, md5 signs with the push key
//! (`collector.md` §1a). `t` and `price` are read as canonical integers
//! (epoch ms, fen) before anything else, and the replay key is made of
//! those, so no other spelling of a signed push counts again.

use super::MAX_SKEW_MS;
use super::lan::{Push, Shared, canonical_time, fresh, vmq_reply};
use crate::parser::Notice;
use crate::{Delivery, Observed, Posted, ReplayKey, now_ms, store};
use axum::Json;
use axum::extract::State;
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::{Channel, Fen, sign};
use serde_json::Value;
use std::sync::atomic::Ordering;

const STALE: &str = "时间错误 t is not within 5 minutes of the collector's clock";
const BAD_T: &str = "时间错误 t must be epoch milliseconds, digits only, no leading zero";

pub async fn app_heart(State(lan): State<Shared>, push: Push) -> Json<Value> {
    let c = &lan.c;
    let f = &push.fields;
    let (Some(t), Some(given)) = (f.get("t"), f.get("sign")) else {
        return vmq_reply(-1, "参数错误 missing t or sign");
    };
    let Some(t_ms) = canonical_time(t) else {
        return vmq_reply(-1, BAD_T);
    };
    if !sign::hex_digest_eq(&sign::vmq_heart_sign(t, c.key.expose()), given) {
        push.bad_sign(&lan);
        c.touch(SourceKind::Vmq, Some("bad heartbeat sign".into()));
        return vmq_reply(-1, "签名错误 bad sign");
    }
    if !fresh(t_ms) {
        return vmq_reply(-1, STALE);
    }
    // Heartbeats only move forward: a replayed (or older) one marks nothing online.
    if lan.last_heart.fetch_max(t_ms, Ordering::AcqRel) >= t_ms {
        return vmq_reply(-1, "重复心跳 replayed heartbeat");
    }
    // ... also across restarts of the collector.
    let key = format!("vmq-heart:{t_ms}");
    match c.db.write(move |tx| store::first_use(tx, &key, t_ms + 2 * MAX_SKEW_MS)).await {
        Ok(true) => {}
        Ok(false) => return vmq_reply(-1, "重复心跳 replayed heartbeat"),
        Err(e) => {
            tracing::error!(error = %e, "cannot store a heartbeat's replay key");
            return vmq_reply(-1, "内部错误 internal error");
        }
    }
    c.touch(SourceKind::Vmq, None);
    vmq_reply(1, "成功")
}

pub async fn app_push(State(lan): State<Shared>, push: Push) -> Json<Value> {
    let c = &lan.c;
    let f = &push.fields;
    let (Some(t), Some(kind), Some(price), Some(given)) = (f.get("t"), f.get("type"), f.get("price"), f.get("sign")) else {
        return vmq_reply(-1, "参数错误 missing t, type, price or sign");
    };
    let Some(t_ms) = canonical_time(t) else {
        return vmq_reply(-1, BAD_T);
    };
    let Some(channel) = Channel::from_vmq_type(kind) else {
        return vmq_reply(-1, "类型错误 unknown type");
    };
    let Ok(amount) = Fen::parse_yuan(price) else {
        return vmq_reply(-1, "金额错误 bad price");
    };
    if !sign::hex_digest_eq(&sign::vmq_push_sign(kind, price, t, c.key.expose()), given) {
        push.bad_sign(&lan);
        c.touch(SourceKind::Vmq, Some("bad push sign".into()));
        return vmq_reply(-1, "签名错误 bad sign");
    }
    if !fresh(t_ms) {
        return vmq_reply(-1, STALE);
    }
    let notice = Notice { app: "V免签".into(), title: String::new(), text: format!("type={kind} price={price}") };
    // Canonical values only: "10.0" and "10.00", or "t" and "0t", are one push.
    let replay = ReplayKey { key: format!("vmq:{kind}:{}:{t_ms}", amount.0), expires_at: t_ms + 2 * MAX_SKEW_MS };
    // The push's own fields are all it tells of the notification, and the
    // replay key is exactly those fields: since `t` is fresh for 5 minutes
    // only, the same push can never come again once its key expires, so no
    // 24 h fingerprint is needed (the app sends a new `t` with every push).
    match c.observe(SourceKind::Vmq, channel, amount, now_ms(), notice, Delivery { replay: Some(replay), posted: Posted::default() }).await
    {
        Ok(Observed::Replayed) => vmq_reply(-1, "重复推送 replayed push"),
        Ok(_) => vmq_reply(1, "成功"),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            vmq_reply(-1, "内部错误 internal error")
        }
    }
}
