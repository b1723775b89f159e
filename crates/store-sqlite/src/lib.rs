//! SQLite backend of [`jiufu_store::Store`].
//!
//! Durability: WAL with `synchronous = FULL`; every write goes through the
//! single [`writer::Writer`] thread, which commits queued writes in groups
//! and answers each caller only after its group's COMMIT. Reads use a small
//! pool of separate connections and never wait for the writer.

mod migrate;
mod orders;
mod rows;
mod store_impl;
mod transfer;

use jiufu_sqlite_writer::Writer;
use jiufu_store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A job's error as the writer carries it.
struct JobError(StoreError);

impl From<jiufu_sqlite_writer::WriteError> for JobError {
    fn from(e: jiufu_sqlite_writer::WriteError) -> Self {
        JobError(StoreError::backend(e))
    }
}

/// A rusqlite error as a store error: a uniqueness rule by its name, any
/// other failure with its cause kept.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e
        && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        && let Some(columns) = msg.strip_prefix("UNIQUE constraint failed: ")
    {
        return StoreError::Duplicate(rows::unique(columns));
    }
    StoreError::backend(e)
}

const READERS: usize = 4;

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<[Mutex<Connection>]>,
    next_reader: AtomicUsize,
    path: PathBuf,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        jiufu_sqlite_writer::prepare_private(&path)
            .map_err(|e| StoreError::context(format!("cannot create {} owner-only", path.display()), e))?;
        let mut conn = Connection::open(&path).map_err(backend)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::failure(format!("journal_mode is {mode}, WAL is required")));
        }
        configure(&conn).map_err(backend)?;
        // A larger page cache for the writer: fewer reads on the commit path.
        conn.pragma_update(None, "cache_size", -16_384).map_err(backend)?;
        migrate::run(&mut conn)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
                configure(&c)?;
                Ok(Mutex::new(c))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?
            .into();
        Ok(SqliteStore { writer: Writer::start(conn), readers, next_reader: AtomicUsize::new(0), path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent copy of the live database to `to` (`VACUUM
    /// INTO`: a snapshot, while the gateway keeps running), owner-only.
    pub async fn backup(&self, to: &Path) -> Result<()> {
        if to.exists() {
            return Err(StoreError::Conflict(format!("{} already exists", to.display())));
        }
        jiufu_sqlite_writer::prepare_private(to)
            .map_err(|e| StoreError::context(format!("cannot create {} owner-only", to.display()), e))?;
        let target = to.to_string_lossy().into_owned();
        self.read(move |c| c.execute("VACUUM INTO ?1", [target]).map(|_| ())).await
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.write(move |c| f(c).map_err(JobError)).await.map_err(|e: JobError| e.0)
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers[i].lock().map_err(|_| StoreError::failure("reader poisoned"))?;
            f(&conn).map_err(backend)
        })
        .await
        .map_err(|e| StoreError::context("reader task failed", e))?
    }
}
