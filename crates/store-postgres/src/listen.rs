//! Instances telling each other that orders changed. After a commit that
//! changed orders, the store wakes [`announce`], which sends one NOTIFY for
//! however many changes piled up meanwhile — from its own short
//! transaction: PostgreSQL serialises the commits of transactions that
//! NOTIFY, so the order transactions themselves never do. A dedicated
//! connection per instance LISTENs and moves a counter, also after every
//! (re)connection, since changes made while it was down were not heard.
//! A NOTIFY lost to a crash between commit and announcement costs at most
//! the long poll's one-second nap: the collectors' cursor is the catch-up
//! truth; this only makes them ask at once.

use futures::StreamExt;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

pub const CHANNEL: &str = "jiufu_orders";

/// Sends a NOTIFY each time `changed` is signalled (signals that arrive
/// while one is being sent make one more, not one each).
pub async fn announce(pool: deadpool_postgres::Pool, changed: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        changed.notified().await;
        let sent = match pool.get().await {
            Ok(client) => client.batch_execute(&format!("NOTIFY {CHANNEL}")).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "could not tell the other instances of a change; they catch up within a second");
        }
    }
}

pub fn start(config: tokio_postgres::Config, tls: MakeRustlsConnect) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(run(config, tls, tx));
    rx
}

async fn run(config: tokio_postgres::Config, tls: MakeRustlsConnect, changes: watch::Sender<u64>) {
    let bump = |changes: &watch::Sender<u64>| changes.send_modify(|v| *v = v.wrapping_add(1));
    loop {
        if changes.is_closed() {
            return;
        }
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (heard, mut hear) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => {
                                let _ = heard.send(());
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the PostgreSQL listener connection failed");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        bump(&changes);
                        while hear.recv().await.is_some() {
                            bump(&changes);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot LISTEN for other instances' changes"),
                }
                driver.abort();
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect the PostgreSQL listener; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
