//! Merchant notifications: a worker drains the outbox that the move to 9
//! filled in the same transaction. Every attempt is recorded; delivery
//! counts only on HTTP 2xx with the acknowledgement of the order's dialect
//! (the native API's is the body `success`); the dialect composes the
//! notification ([`crate::dialect::ShopDialect::notification`]).

use crate::Shared;
use crate::dialect::Outgoing;
use jiufu_store::{Notification, NotifyAttempt, NotifyNext};
use std::time::Duration;

/// How many notifications are attempted at once.
const BATCH: usize = 64;
/// How often the outbox is looked at when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(1);
const EXCERPT: usize = 256;

pub async fn run_worker(app: Shared) {
    loop {
        match app.domain.due_notifications(BATCH).await {
            Ok(due) if !due.is_empty() => {
                let full = due.len() == BATCH;
                futures::future::join_all(due.into_iter().map(|n| deliver(&app, n))).await;
                if full {
                    continue;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the notification outbox"),
        }
        let _ = tokio::time::timeout(POLL, app.domain.events.notify_wake.notified()).await;
    }
}

async fn deliver(app: &Shared, n: Notification) {
    let Some((order, merchant)) = app.domain.notification_subject(&n).await else {
        return;
    };
    let at = app.domain.now();
    let mut attempt = NotifyAttempt {
        order_id: n.order_id.clone(),
        at,
        http_status: None,
        body_excerpt: String::new(),
        error: String::new(),
        delivered: false,
    };
    match crate::dialects().notification(&order, merchant.key.expose(), at) {
        Ok(out) => send(app, out, &mut attempt).await,
        Err(e) => attempt.error = e.chars().take(EXCERPT).collect(),
    }
    let attempts = (n.attempts + 1) as usize;
    let next = if attempt.delivered {
        NotifyNext::Delivered
    } else {
        match app.config.notify_schedule.after(attempts) {
            Some(delay) => NotifyNext::RetryAt(app.domain.now() + delay.as_secs() as i64),
            None => NotifyNext::GiveUp,
        }
    };
    tracing::info!(order = %n.order_id, attempt = attempts, delivered = attempt.delivered, status = ?attempt.http_status, error = %attempt.error, ?next, "notification attempt");
    if let Err(e) = app.domain.record_attempt(attempt, next).await {
        tracing::error!(order = %n.order_id, error = %e, "cannot record a notification attempt; it will be retried");
    }
}

async fn send(app: &Shared, out: Outgoing, attempt: &mut NotifyAttempt) {
    // Checked again now, not only at creation: a literal address never
    // meets the resolver that keeps names off private networks, and the
    // operator may have withdrawn JIUFU_ALLOW_PRIVATE_NOTIFY since.
    if let Err(why) = crate::net::check_callback_url(&out.url, app.config.allow_private_notify) {
        attempt.error = format!("not sent: the notify URL {why}").chars().take(EXCERPT).collect();
        return;
    }
    let mut request = match &out.json {
        Some(body) => app.http.post(&out.url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone()),
        None => app.http.get(&out.url),
    };
    for (name, value) in &out.headers {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(resp) => {
            let status = resp.status();
            attempt.http_status = Some(i64::from(status.as_u16()));
            match read_limited(resp).await {
                Ok(body) => {
                    attempt.delivered = status.is_success() && out.ack.accepts(&body);
                    attempt.body_excerpt = body.chars().take(EXCERPT).collect();
                }
                Err(e) => attempt.error = format!("reading the body: {e}"),
            }
        }
        Err(e) => attempt.error = describe(&e),
    }
}

/// Reads at most 4 KiB of a response body as text.
async fn read_limited(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() >= 4096 {
            buf.truncate(4096);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// What went wrong, without the URL: it carries the notification's sign,
/// which must reach neither logs nor the stored attempt.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let bare = reqwest_without_url(e);
    let mut msg = format!("{kind}: {bare}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    let msg = redact_signs(&msg);
    msg.chars().take(EXCERPT).collect()
}

/// The error's own text with its URL left out.
fn reqwest_without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(&format!(" ({url})"), "").replace(url.as_str(), "[url]"),
        None => text,
    }
}

/// `sign=…` values in any text, replaced with `sign=[redacted]`.
pub fn redact_signs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sign=") {
        let (head, tail) = rest.split_at(at + "sign=".len());
        out.push_str(head);
        out.push_str("[redacted]");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '%');
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_are_redacted() {
        assert_eq!(
            redact_signs("error sending request for url (http://x/n?order_no=1&sign=abc123)"),
            "error sending request for url (http://x/n?order_no=1&sign=[redacted])"
        );
        assert_eq!(redact_signs("no sign here"), "no sign here");
    }
}
