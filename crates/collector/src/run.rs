//! `jiufu-collector run`: every enabled source, the matcher and the gateway
//! link, until stopped. Each loop survives the gateway being away and picks
//! up where the store says it was.

use crate::link::{Link, LinkError};
use crate::model::{OutboxItem, OutboxKind};
use crate::sources::Source;
use crate::sources::dbus::DbusMonitor;
use crate::sources::lan::LanListener;
use crate::store;
use crate::{Collector, CoreEvent, matcher, now_ms, setting};
use jiufu_protocol::collector::*;
use jiufu_protocol::{Channel, ObservationId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Delays between attempts to deliver a queued item, as data.
pub const RETRY_SECS: [i64; 6] = [1, 2, 5, 10, 30, 60];

pub async fn run(c: Arc<Collector>, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if c.config.lan {
        match tokio::net::TcpListener::bind(c.config.listen).await {
            Ok(listener) => {
                let addr = listener.local_addr()?;
                c.publish(|s| s.listening = Some(addr));
                println!("jiufu-collector listening on http://{addr}");
                if c.config.smsf_unsigned {
                    shout_unsigned(addr);
                }
                sources.push(Box::new(LanListener::new(listener)));
            }
            Err(e) => {
                // Everything else (the queue, the orders, D-Bus) goes on; the listener is retried every 30 s.
                let why = format!("cannot listen on {}: {e}", c.config.listen);
                eprintln!("jiufu-collector: ERROR: {why}; retrying every 30 s");
                c.touch(SourceKind::Lan, Some(why));
                sources.push(Box::new(LanListener::unbound()));
            }
        }
    } else {
        println!("jiufu-collector: the LAN listener is off");
    }
    if c.link().is_none() {
        eprintln!(
            "jiufu-collector: not paired with a gateway yet (jiufu-collector pair TOKEN --gateway URL); payments are kept until then"
        );
    }
    if c.config.dbus {
        sources.push(Box::new(DbusMonitor));
    }
    let running: Vec<(SourceKind, Vec<Channel>, Arc<AtomicBool>)> =
        sources.iter().map(|s| (s.kind(), s.channels(), Arc::new(AtomicBool::new(false)))).collect();
    let flags: Vec<(SourceKind, Arc<AtomicBool>)> = running.iter().map(|(k, _, up)| (*k, up.clone())).collect();
    let mut tasks: Vec<_> =
        sources.into_iter().zip(running.iter()).map(|(s, (_, _, up))| tokio::spawn(supervise(c.clone(), s, up.clone()))).collect();
    tasks.extend([
        tokio::spawn(orders_loop(c.clone())),
        tokio::spawn(outbox_loop(c.clone())),
        tokio::spawn(matcher_loop(c.clone())),
        tokio::spawn(heartbeat_loop(c.clone(), running)),
        tokio::spawn(codes_loop(c.clone())),
        tokio::spawn(health_loop(c.clone())),
        tokio::spawn(watch_loop(c.clone(), flags)),
        tokio::spawn(link_loop(c.clone())),
    ]);
    shutdown.await;
    tracing::info!("stopping");
    for t in &tasks {
        t.abort();
    }
    // Wait for them to end, so the listener's port is free when this returns.
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// The unsigned SmsForwarder opt-in, loudly: anyone who reaches the
/// listener can then confirm orders.
fn shout_unsigned(addr: std::net::SocketAddr) {
    let bar = "!".repeat(78);
    eprintln!(
        "{bar}\njiufu-collector: WARNING: UNSIGNED SmsForwarder pushes are accepted on {addr} \
         (JIUFU_COLLECTOR_SMSF_UNSIGNED / the app's setting).\nAnyone who can reach this address can confirm orders \
         with a made-up notification.\nTurn it off and set the collector's SmsForwarder secret (jiufu-collector status) \
         in SmsForwarder's 加签 field.\n{bar}"
    );
    tracing::warn!(%addr, "unsigned SmsForwarder pushes are accepted");
}

/// Runs a source, and again 30 s after each failure, keeping its health.
/// A failure is logged as a warning when it is new; the same failure again
/// straight after (no session bus on a headless machine) only at debug level.
async fn supervise(c: Arc<Collector>, source: Box<dyn Source>, up: Arc<AtomicBool>) {
    let mut last_error: Option<String> = None;
    loop {
        up.store(true, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let result = source.run(c.clone()).await;
        up.store(false, Ordering::Relaxed);
        if started.elapsed() > Duration::from_secs(60) {
            // It ran for a while: a failure now is news again.
            last_error = None;
        }
        if let Err(e) = result {
            let error = e.to_string();
            if last_error.as_deref() == Some(error.as_str()) {
                tracing::debug!(source = %source.kind(), %error, "source failed again; retrying in 30 s");
            } else {
                tracing::warn!(source = %source.kind(), %error, "source failed; retrying in 30 s (the same failure again is logged at debug level)");
            }
            c.touch(source.kind(), Some(error.clone()));
            last_error = Some(error);
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

async fn rematch(c: &Collector) {
    // While a long poll is connected the mirror is current: the gateway answers at once on any change.
    let synced_at = {
        let s = c.status.borrow();
        if s.orders_live { now_ms() } else { s.orders_synced_at }
    };
    match c.db.write(move |tx| matcher::rematch_pending(tx, now_ms(), synced_at)).await {
        Ok(settled) if settled.is_empty() => {}
        Ok(settled) => {
            c.outbox_wake.notify_one();
            for (observation, order_id, channel, amount) in settled.matched {
                c.emit(CoreEvent::PaymentMatched { observation, order_id, channel, amount });
            }
            for (observation, channel, amount) in settled.unmatched {
                c.emit(CoreEvent::PaymentUnmatched { observation, channel, amount });
            }
        }
        Err(e) => tracing::error!(error = %e, "matching failed"),
    }
}

async fn paired(c: &Collector) -> Arc<Link> {
    loop {
        if let Some(link) = c.link() {
            return link;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Picks up a pairing made by another process on the same store (the CLI's
/// `pair` while this runs): the held link changes, and every loop uses the new one.
async fn link_loop(c: Arc<Collector>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Err(e) = c.refresh_link().await {
            tracing::warn!(error = %e, "cannot read the pairing");
        }
    }
}

/// The orders mirror is current as of now, and a long poll keeps it so.
fn mirror_current(c: &Collector) {
    let now = now_ms();
    c.publish(|s| {
        s.orders_synced_at = now;
        s.orders_live = true;
    });
}

/// The long poll is not connected: the mirror is as current as it was.
fn mirror_interrupted(c: &Collector) {
    c.publish(|s| s.orders_live = false);
}

/// Keeps the orders mirror current: a snapshot, then long polls from its cursor.
async fn orders_loop(c: Arc<Collector>) {
    let mut failures = 0usize;
    loop {
        let link = paired(&c).await;
        let snapshot = match link.get::<OrdersSnapshot>("/collector/v1/orders").await {
            Ok(snap) => c.mirror_orders(snap.orders).await.map(|()| snap.cursor),
            Err(e) => Err(e.into()),
        };
        let mut cursor = match snapshot {
            Ok(cursor) => cursor,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "cannot fetch or store orders; retrying");
                tokio::time::sleep(Duration::from_secs(RETRY_SECS[failures.min(RETRY_SECS.len()) - 1] as u64)).await;
                continue;
            }
        };
        failures = 0;
        mirror_current(&c);
        rematch(&c).await;
        loop {
            match link.get::<EventBatch>(&format!("/collector/v1/events?after={cursor}&wait=25")).await {
                Ok(batch) => {
                    if !batch.events.is_empty() {
                        let orders = batch.events.into_iter().map(|e| e.order).collect();
                        match c.mirror_orders(orders).await {
                            Ok(()) => {}
                            Err(e) => {
                                mirror_interrupted(&c);
                                tracing::error!(error = %e, "cannot store orders; fetching a new snapshot");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                break;
                            }
                        }
                    }
                    cursor = batch.cursor;
                    mirror_current(&c);
                    rematch(&c).await;
                    if !c.link().is_some_and(|now| now.same_device(&link)) {
                        // Paired again meanwhile: start over with the new credentials.
                        mirror_interrupted(&c);
                        break;
                    }
                }
                Err(e) => {
                    mirror_interrupted(&c);
                    tracing::warn!(error = %e, "order updates interrupted; catching up");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

async fn matcher_loop(c: Arc<Collector>) {
    loop {
        rematch(&c).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Delivers the durable queue: confirmations and unmatched reports.
async fn outbox_loop(c: Arc<Collector>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.outbox_wake.notified()).await;
        let Some(link) = c.link() else {
            continue;
        };
        let due = match c.db.due_outbox(now_ms()).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                continue;
            }
        };
        for item in due {
            let result = deliver(&link, &c, &item).await;
            let now = now_ms();
            let (id, kind, obs_id) = (item.id, item.kind, ObservationId::parse(&item.observation_id));
            let attempts = item.attempts + 1;
            let written =
                c.db.write(move |tx| {
                    match result {
                        Ok(()) => {
                            store::outbox_delivered(tx, id, attempts, now)?;
                            if kind == OutboxKind::Confirm
                                && let Some(obs_id) = &obs_id
                            {
                                store::set_confirmed(tx, obs_id)?;
                            }
                            store::log_event(tx, "delivered", &format!("{kind} {}", shown(&obs_id)), now)?;
                        }
                        Err(LinkError::Transport(e)) => {
                            let delay = RETRY_SECS[(attempts as usize).min(RETRY_SECS.len()) - 1] * 1000;
                            store::outbox_retry(tx, id, attempts, now + delay, &e)?;
                        }
                        Err(refused) => {
                            store::outbox_refused(tx, id, attempts, now, &refused.to_string())?;
                            if kind == OutboxKind::Confirm
                                && let Some(obs_id) = &obs_id
                            {
                                // The gateway says this payment is not that order's: keep it for the operator.
                                matcher::mark_unmatched(tx, obs_id, &format!("gateway: {}", refused.code()), now)?;
                                return Ok(Outcome::Unmatched(obs_id.clone()));
                            }
                            store::log_event(tx, "refused", &format!("{kind} {}: {refused}", shown(&obs_id)), now)?;
                            return Ok(Outcome::Refused(refused.code().to_owned()));
                        }
                    }
                    Ok(Outcome::Done)
                })
                .await;
            match written {
                Ok(Outcome::Unmatched(obs_id)) => {
                    if let Ok(Some(obs)) = c.db.observation(&obs_id).await {
                        c.emit(CoreEvent::PaymentUnmatched { observation: obs.id, channel: obs.channel, amount: obs.amount });
                    }
                }
                Ok(Outcome::Refused(code)) => {
                    c.emit(CoreEvent::Refused { what: item.kind.to_string(), order_id: item.order_id.clone(), code });
                }
                Ok(Outcome::Done) => c.emit(CoreEvent::Delivered),
                Err(e) => tracing::error!(error = %e, "cannot record an outbox result"),
            }
        }
    }
}

/// What became of a delivery attempt.
enum Outcome {
    Done,
    /// The gateway refused a confirmation: the payment is the operator's again.
    Unmatched(ObservationId),
    /// The gateway refused something else (a rejection of a claim).
    Refused(String),
}

/// A queue item's payment as logged ('' for a rejection's).
fn shown(obs_id: &Option<ObservationId>) -> &str {
    obs_id.as_ref().map_or("", ObservationId::as_str)
}

/// Sends one queued item to the gateway.
async fn deliver(link: &Link, c: &Collector, item: &OutboxItem) -> Result<(), LinkError> {
    if item.kind == OutboxKind::Reject {
        let order_id = item.order_id.as_ref().map_or("", |o| o.as_str());
        let req = RejectRequest { reason: item.reason.clone() };
        return link.post::<ConfirmResponse>(&format!("/collector/v1/orders/{order_id}/reject"), &req).await.map(|_| ());
    }
    let gone = || LinkError::Unsendable { code: "no_observation", message: item.observation_id.clone() };
    let obs = match ObservationId::parse(&item.observation_id) {
        None => return Err(gone()),
        Some(id) => match c.db.observation(&id).await {
            Ok(Some(obs)) => obs,
            Ok(None) => return Err(gone()),
            Err(e) => return Err(LinkError::Transport(e.to_string())),
        },
    };
    let evidence = Evidence {
        observation_id: obs.id.to_string(),
        source: obs.source.to_string(),
        observed_at: obs.observed_at,
        raw_text: format!("{} {}", obs.title, obs.text).trim().to_owned(),
    };
    match (item.kind, &item.order_id) {
        (OutboxKind::Confirm, Some(order_id)) => {
            let req = ConfirmRequest { order_id: order_id.to_string(), channel: obs.channel, amount: obs.amount, evidence };
            link.post::<ConfirmResponse>("/collector/v1/confirmations", &req).await.map(|_| ())
        }
        (OutboxKind::Unmatched, _) => {
            let req = UnmatchedReport { channel: obs.channel, amount: obs.amount, evidence };
            link.post::<serde_json::Value>("/collector/v1/unmatched", &req).await.map(|_| ())
        }
        (kind, _) => Err(LinkError::Unsendable { code: "unknown_kind", message: format!("{kind} without an order") }),
    }
}

/// Watches sources go offline and come back (the phone by its heartbeats,
/// the others by whether they run), for the window's notifications.
async fn watch_loop(c: Arc<Collector>, flags: Vec<(SourceKind, Arc<AtomicBool>)>) {
    let mut was: std::collections::HashMap<String, bool> = Default::default();
    loop {
        let now = now_ms();
        let phone_seen = c.phone_seen.load(Ordering::Relaxed);
        let mut states: Vec<(String, bool)> = flags.iter().map(|(k, up)| (k.as_str().to_owned(), up.load(Ordering::Relaxed))).collect();
        if phone_seen > 0 {
            states.push((SourceKind::PHONE.into(), now - phone_seen <= c.config.phone_online.as_millis() as i64));
        }
        for (name, up) in &states {
            match was.insert(name.clone(), *up) {
                Some(true) if !up => c.emit(CoreEvent::SourceOffline { source: name.clone() }),
                Some(false) | None if *up => c.emit(CoreEvent::SourceOnline { source: name.clone() }),
                _ => {}
            }
        }
        c.publish(|s| s.sources = states);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn heartbeat_loop(c: Arc<Collector>, running: Vec<(SourceKind, Vec<Channel>, Arc<AtomicBool>)>) {
    loop {
        if let Some(link) = c.link() {
            let phone_seen = c.phone_seen.load(Ordering::Relaxed);
            let now = now_ms();
            // The phone (seen through the LAN listener), then every source that sees payments itself.
            let mut sources = vec![SourceStatus {
                name: SourceKind::PHONE.into(),
                kind: SourceKind::Vmq.as_str().into(),
                online: phone_seen > 0 && now - phone_seen <= c.config.phone_online.as_millis() as i64,
                last_seen: (phone_seen > 0).then_some(phone_seen),
                channels: Channel::ALL.to_vec(),
            }];
            // Forwarders that push over the LAN count as online while they are heard from.
            let heard = c.heard_from(&[SourceKind::SmsForwarder, SourceKind::Generic]);
            sources.extend(heard.into_iter().map(|(kind, last)| SourceStatus {
                online: now - last <= c.config.phone_online.as_millis() as i64,
                kind: kind.as_str().into(),
                name: kind.as_str().into(),
                last_seen: Some(last),
                channels: Channel::ALL.to_vec(),
            }));
            sources.extend(running.iter().filter(|(_, channels, _)| !channels.is_empty()).map(|(kind, channels, up)| SourceStatus {
                name: kind.as_str().into(),
                kind: kind.as_str().into(),
                online: up.load(Ordering::Relaxed),
                last_seen: None,
                channels: channels.clone(),
            }));
            let beat = Heartbeat { version: env!("CARGO_PKG_VERSION").into(), sources };
            if let Err(e) = link.post::<HeartbeatResponse>("/collector/v1/heartbeat", &beat).await {
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
        tokio::time::sleep(c.config.heartbeat).await;
    }
}

/// Saves the sources' health every two seconds; prunes what the retention
/// period lets go at start and every hour.
async fn health_loop(c: Arc<Collector>) {
    const PRUNE_EVERY: u32 = 1800;
    let mut ticks = 0u32;
    loop {
        if ticks.is_multiple_of(PRUNE_EVERY)
            && let Some(keep) = c.config.retention
        {
            let now = now_ms();
            match c.db.prune(now.saturating_sub(keep.as_millis() as i64), now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned records past the retention period"),
                Err(e) => tracing::warn!(error = %e, "cannot prune old records"),
            }
        }
        ticks = ticks.wrapping_add(1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Err(e) = c.save_health().await {
            tracing::warn!(error = %e, "cannot save source health");
        }
    }
}

/// Sends the codes to the gateway whenever they changed.
async fn codes_loop(c: Arc<Collector>) {
    let mut synced: Option<String> = None;
    loop {
        if let Some(link) = c.link() {
            let version = c.db.setting("codes_version").await.ok().flatten().unwrap_or_default();
            if synced.as_ref() != Some(&version) {
                match c.db.codes().await {
                    Ok(codes) => {
                        let sync = CodeSync {
                            codes: codes
                                .into_iter()
                                .map(|k| CodeWire {
                                    uid: k.uid,
                                    channel: k.channel,
                                    qr_text: k.qr_text,
                                    amount: k.amount,
                                    name: k.name,
                                    enabled: k.enabled,
                                })
                                .collect(),
                        };
                        match link.call::<CodeSyncResponse>(reqwest::Method::PUT, "/collector/v1/codes", Some(&sync)).await {
                            Ok(r) => {
                                tracing::info!(codes = r.accepted, "codes synced with the gateway");
                                if let Err(e) = c.db.set_settings(vec![(setting::CODES_SYNCED.into(), version.clone())]).await {
                                    tracing::warn!(error = %e, "cannot note the code sync");
                                }
                                synced = Some(version);
                                c.emit(CoreEvent::CodesChanged);
                            }
                            Err(e) => tracing::warn!(error = %e, "code sync failed; will retry"),
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot read codes"),
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
