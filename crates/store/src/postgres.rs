//! The production engine: PostgreSQL, shared by any number of stateless Latchkey replicas.
//!
//! Read-modify-write transactions lock the user row (`FOR UPDATE`) so concurrent updates of one
//! user serialise, while different users proceed in parallel.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

type Db = sqlx::Postgres;
type Engine = PostgresStore;
/// One writer connection on SQLite; PostgreSQL runs concurrent write transactions well.
const WRITE_LANES: usize = 8;
const FOR_UPDATE: &str = " FOR UPDATE";
/// How a worker's claim skips rows another worker holds.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
/// How a transaction takes a lock on a name until it ends: the send limits count a
/// destination's messages under it, whichever users list the destination.
const NAME_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";
/// PostgreSQL keeps its statistics itself (autovacuum analyses), so its planner needs no hint.
const SELECTIVE_PROJECT_COLUMN: &str = "u.project_id";

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    projects: crate::project_cache::ProjectCache,
    signing_keys: crate::project_cache::ProjectCache<Vec<latchkey_core::jwt::SigningKey>>,
}

impl PostgresStore {
    /// Connects to `url` and applies migrations (serialised across replicas by sqlx's advisory
    /// lock).
    pub async fn connect(url: &str) -> Result<PostgresStore, crate::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            projects: Default::default(),
            signing_keys: Default::default(),
        })
    }

    fn pools(&self) -> Vec<crate::PoolStats> {
        vec![crate::PoolStats {
            name: "all",
            connections: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        }]
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }
}

// The same SQL as the other engine, compiled against this one's `Db` and `Engine`.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
