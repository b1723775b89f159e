//! The collector core, running inside the app exactly as `jiufu-collector
//! run` runs it. Settings that change how it listens restart it in place:
//! the old run stops (its listener's port is freed), the store is opened
//! again with the new settings, and a new run starts.

use jiufu_collector::{Collector, Config, run};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};

pub struct Core {
    base: Config,
    current: watch::Sender<Arc<Collector>>,
    stop: Mutex<Option<(oneshot::Sender<()>, tauri::async_runtime::JoinHandle<()>)>>,
    /// Why the last run failed (a port in use, say), for the window.
    failure: Arc<Mutex<Option<String>>>,
    restarting: tokio::sync::Mutex<()>,
}

impl Core {
    /// Opens the store and starts the run.
    pub async fn start(base: Config) -> anyhow::Result<Core> {
        let c = Collector::open(base.clone()).await?;
        let core = Core {
            base,
            current: watch::channel(c.clone()).0,
            stop: Mutex::new(None),
            failure: Default::default(),
            restarting: Default::default(),
        };
        core.spawn(c);
        Ok(core)
    }

    /// The running collector.
    pub fn get(&self) -> Arc<Collector> {
        self.current.borrow().clone()
    }

    /// Follows restarts.
    pub fn watch(&self) -> watch::Receiver<Arc<Collector>> {
        self.current.subscribe()
    }

    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    fn spawn(&self, c: Arc<Collector>) {
        let (tx, rx) = oneshot::channel::<()>();
        let failure = self.failure.clone();
        if let Ok(mut f) = failure.lock() {
            *f = None;
        }
        let handle = tauri::async_runtime::spawn(async move {
            let stopped = async move {
                let _ = rx.await;
            };
            if let Err(e) = run::run(c, stopped).await {
                tracing::error!(error = %format!("{e:#}"), "the collector stopped");
                if let Ok(mut f) = failure.lock() {
                    *f = Some(format!("{e:#}"));
                }
            }
        });
        if let Ok(mut stop) = self.stop.lock() {
            *stop = Some((tx, handle));
        }
    }

    /// Stops the run, reopens the store with the stored settings, and runs again.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let _one_at_a_time = self.restarting.lock().await;
        let old = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some((tx, handle)) = old {
            let _ = tx.send(());
            let _ = handle.await;
        }
        match Collector::open(self.base.clone()).await {
            Ok(c) => {
                self.current.send_replace(c.clone());
                self.spawn(c);
                Ok(())
            }
            Err(e) => {
                // Keep collecting with what ran before, and say why the change did not apply.
                self.spawn(self.get());
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(format!("{e:#}"));
                }
                Err(e)
            }
        }
    }

    /// Stops the run (on quit), so queued writes finish first.
    pub async fn shutdown(&self) {
        let old = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some((tx, handle)) = old {
            let _ = tx.send(());
            let _ = handle.await;
        }
    }
}
