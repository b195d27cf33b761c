//! Coalesces concurrent `passwords/migrate` requests into batches for the store.
//!
//! A team moving to Latchkey migrates its users as fast as it can send requests. Each request
//! on its own costs a transaction of several statements on the database's single writer (with
//! SQLite), and the writer, not the CPU, becomes the limit. Here each request enqueues its item
//! and waits; a lane takes whatever has queued up (never waiting for more), hands it to
//! [`CredentialStore::migrate_passwords`] as one batch, and answers each request with its own
//! result. Under light load a batch is one item, so nothing is delayed; under heavy load
//! batches grow and the writer does far fewer round trips per user.
//!
//! Invariant: a request is answered only after its item is committed (or refused).

use std::sync::Arc;

use chrono::Utc;
use latchkey_core::ids::{EmailId, ProjectId};
use latchkey_core::users::User;
use latchkey_store::{MigratePassword, Store, StoreError};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::ApiError;

/// The largest batch a lane hands to the store (bounded so statements stay well under the
/// engines' limits on bound parameters).
const MAX_BATCH: usize = 128;

type Outcome = Result<(User, EmailId, bool), StoreError>;

struct Job {
    project_id: ProjectId,
    item: MigratePassword,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
pub struct MigrateBatcher {
    queue: mpsc::Sender<Job>,
}

impl MigrateBatcher {
    /// Starts the lanes (as many as the store runs write transactions well at once). They stop
    /// when the last `MigrateBatcher` clone is dropped. Must be called inside a tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> MigrateBatcher {
        let (queue, receiver) = mpsc::channel(MAX_BATCH * 8);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..store.write_lanes().max(1) {
            tokio::spawn(lane(store.clone(), receiver.clone()));
        }
        MigrateBatcher { queue }
    }

    pub async fn migrate(
        &self,
        project_id: ProjectId,
        item: MigratePassword,
    ) -> Result<(User, EmailId, bool), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                project_id,
                item,
                reply,
            })
            .await
            .map_err(|_| ApiError::shutting_down())?;
        Ok(answer.await.map_err(|_| ApiError::shutting_down())??)
    }
}

async fn lane(store: Arc<dyn Store>, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        // A batch belongs to one project; jobs of several projects make several batches.
        while let Some(first) = jobs.first() {
            let project_id = first.project_id.clone();
            let (batch, rest): (Vec<Job>, Vec<Job>) = jobs
                .into_iter()
                .partition(|job| job.project_id == project_id);
            jobs = rest;
            let (items, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|job| (job.item, job.reply)).unzip();
            let results = store
                .migrate_passwords(&project_id, items, Utc::now())
                .await;
            for (reply, result) in replies.into_iter().zip(results) {
                // The requester may have gone away; its item is written all the same.
                let _ = reply.send(result);
            }
        }
    }
}
