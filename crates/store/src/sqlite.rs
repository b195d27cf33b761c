//! The embedded engine: one SQLite file in WAL mode with foreign keys on and a busy timeout.
//!
//! Writes go through a pool of exactly one connection, so write transactions queue in process
//! instead of failing with `SQLITE_BUSY` on lock upgrades; reads use a separate pool and, under
//! WAL, never wait for the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

type Db = sqlx::Sqlite;
type Engine = SqliteStore;
/// One writer connection on SQLite; PostgreSQL runs concurrent write transactions well.
const WRITE_LANES: usize = 1;
/// The single writer connection already excludes other writers.
const FOR_UPDATE: &str = "";

#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite:path` or a bare
    /// path) and applies migrations.
    pub async fn connect(url: &str) -> Result<SqliteStore, crate::StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL under WAL loses no committed transaction when the process dies; only a
            // power loss can lose the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A SQLite connection is a file handle in this process: it cannot go stale the way a
        // network connection can, so pinging it before every use would only add a round trip.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() as u32 * 2)
            .unwrap_or(4)
            .max(4);
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { read, write })
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn writer(&self) -> &SqlitePool {
        &self.write
    }
}

include!("sql_common.rs");
include!("sql_credentials.rs");
