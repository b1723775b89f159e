//! The single writer: one thread owns the only write connection and runs
//! queued jobs in batches, one transaction per batch (group commit). Each
//! job runs inside its own savepoint, so a failing job rolls back alone,
//! and every caller is answered only after the batch's COMMIT returned.

use jiufu_store::{Result, StoreError};
use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
/// A job runs on the connection, or is told (None) that no transaction could be opened.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Reply + Send>;

/// The most jobs one transaction takes.
const MAX_BATCH: usize = 512;

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(conn: Connection) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .expect("spawn the SQLite writer thread");
        Writer { jobs: tx }
    }

    /// Runs `f` in the next batch and returns its result once committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(StoreError::Backend("no write transaction".into())),
            };
            Box::new(move |committed: Result<()>| {
                let _ = tx.send(committed.and(result));
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the writer dropped a job".into()))?
    }
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let exec = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut st| st.execute([]))
            .map_err(backend)
    };
    exec("SAVEPOINT job")?;
    match f(conn) {
        Ok(v) => {
            exec("RELEASE job")?;
            Ok(v)
        }
        Err(e) => {
            exec("ROLLBACK TO job")?;
            exec("RELEASE job")?;
            Err(e)
        }
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Job>) {
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(backend);
        if let Err(e) = began {
            tracing::error!(error = %e, "cannot begin a write transaction");
            first(None)(Err(e));
            continue;
        }
        replies.push(first(Some(&conn)));
        while replies.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => replies.push(job(Some(&conn))),
                Err(_) => break,
            }
        }
        let committed = conn.execute_batch("COMMIT").map_err(backend);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = replies.len(), "commit failed; every job in the batch fails");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies.drain(..) {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Backend(e.to_string())),
            });
        }
    }
}

pub fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
