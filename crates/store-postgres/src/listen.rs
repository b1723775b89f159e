//! Hearing other instances: a dedicated connection LISTENs on the channel
//! every committed order change NOTIFYs, and moves a counter. The counter
//! also moves after every (re)connection, since changes made while the
//! connection was down were not heard: the collectors' cursor is the
//! catch-up truth, this only makes them ask at once.

use futures::StreamExt;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

pub const CHANNEL: &str = "jiufu_orders";

pub fn start(config: tokio_postgres::Config) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(run(config, tx));
    rx
}

async fn run(config: tokio_postgres::Config, changes: watch::Sender<u64>) {
    let bump = |changes: &watch::Sender<u64>| changes.send_modify(|v| *v = v.wrapping_add(1));
    loop {
        if changes.is_closed() {
            return;
        }
        match config.connect(NoTls).await {
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
