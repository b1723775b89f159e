//! The single writer: one thread owns the only write connection and runs
//! queued jobs in batches, one transaction per batch (group commit). Each
//! job runs inside its own savepoint, so a failing job rolls back alone,
//! and every caller is answered only after the batch's COMMIT returned.
//!
//! Used by the gateway's SQLite store and by the collector's store, with
//! the two other things they share: [`migrate`] and [`columns`].

pub mod columns;
pub mod migrate;

use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// The batch a job was in could not be begun or committed, or the writer is gone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("SQLite write failed: {0}")]
pub struct WriteError(pub String);

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError(e.to_string())
    }
}

type Reply = Box<dyn FnOnce(Result<(), WriteError>) + Send>;
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
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(conn, rx)).expect("spawn the SQLite writer thread");
        Writer { jobs: tx }
    }

    /// Runs `f` in the next batch and returns its result once committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<WriteError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(E::from(WriteError("no write transaction".into()))),
            };
            Box::new(move |committed: Result<(), WriteError>| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(E::from(e)),
                });
            })
        });
        self.jobs.send(job).map_err(|_| E::from(WriteError("the writer has stopped".into())))?;
        rx.await.map_err(|_| E::from(WriteError("the writer dropped a job".into())))?
    }
}

fn in_savepoint<T, E: From<WriteError>>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
    let exec = |sql: &str| conn.prepare_cached(sql).and_then(|mut st| st.execute([])).map_err(|e| E::from(WriteError::from(e)));
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
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            first(None)(Err(e.into()));
            continue;
        }
        replies.push(first(Some(&conn)));
        while replies.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => replies.push(job(Some(&conn))),
                Err(_) => break,
            }
        }
        let committed = conn.execute_batch("COMMIT").map_err(WriteError::from);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = replies.len(), "commit failed; every job in the batch fails");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies.drain(..) {
            reply(committed.clone());
        }
    }
}

/// Makes `path` ready to be opened as a database that only its owner can
/// read: missing parent folders are created owner-only (0700), the file is
/// created 0600 (SQLite gives its `-wal` and `-shm` files the same mode),
/// and an existing file and its `-wal`/`-shm` lose any group or other
/// access they had. Keys and device secrets live in these files.
pub fn prepare_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::fs;
    #[cfg(unix)]
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            fs::set_permissions(&file, fs::Permissions::from_mode(meta.permissions().mode() & 0o700))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failing_job_rolls_back_alone() {
        let dir = std::env::temp_dir().join(format!("jiufu-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t (v INTEGER UNIQUE)").unwrap();
        let w = Writer::start(conn);
        let jobs: Vec<_> = (0..100)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move {
                    // every tenth job inserts a duplicate and must fail alone
                    let v = if i % 10 == 9 { i - 1 } else { i };
                    w.write(move |c| c.execute("INSERT INTO t (v) VALUES (?1)", [v]).map_err(WriteError::from)).await
                })
            })
            .collect();
        let mut failed = 0;
        for j in jobs {
            if j.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 10);
        let count: i64 = Connection::open(&path).unwrap().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 90);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn databases_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/sub/db.sqlite");
        prepare_private(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let open = dir.path().join("old.db");
        std::fs::write(&open, b"").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_private(&open).unwrap();
        assert_eq!(mode(&open), 0o600);
    }
}
