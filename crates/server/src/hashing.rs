//! The password-hashing pool. Hashes cost tens of milliseconds of CPU each; running them on the
//! async workers would stall every other request during a burst of logins. Jobs run on a fixed
//! set of threads, one per core, so a burst queues here instead of oversubscribing the machine.
//!
//! Fixed threads rather than tokio's blocking pool: argon2id needs 19 MiB of working memory per
//! hash, which each hashing thread keeps and reuses (a changing set of blocking threads keeps
//! touching fresh pages: measured in `bench/run`, a fifth of the login throughput and hundreds
//! of MiB of resident memory). A thread that has had no job for [`IDLE_RELEASE`] gives that
//! memory back, so an idle server stays small.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// How long a hashing thread waits for work before giving back its hash memory.
pub const IDLE_RELEASE: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone, Debug)]
pub struct HashPool {
    jobs: Sender<Job>,
    /// Jobs sent and not yet started: the queue depth metrics report.
    queued: Arc<AtomicUsize>,
}

impl HashPool {
    /// Starts `size` hashing threads. They stop when the last clone of the pool is dropped.
    pub fn new(size: usize) -> HashPool {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for index in 0..size.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("latchkey-hash-{index}"))
                .spawn(move || worker(&queue, IDLE_RELEASE));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-hashing thread");
            }
        }
        HashPool {
            jobs,
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Jobs waiting for a hashing thread.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// One thread per available core.
    pub fn default_size() -> usize {
        std::thread::available_parallelism().map_or(2, |cores| cores.get())
    }

    /// Runs `job` on a hashing thread and waits for its result without blocking the runtime.
    pub async fn run<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queued = self.queued.clone();
        let job: Job = Box::new(move || {
            queued.fetch_sub(1, Ordering::Relaxed);
            // The requester may have gone away; then the result is simply dropped.
            let _ = reply.send(job());
        });
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(ApiError::shutting_down());
        }
        answer.await.map_err(|_| {
            tracing::error!("a password hashing job failed");
            ApiError::internal()
        })
    }
}

fn worker(queue: &Receiver<Job>, idle_release: Duration) {
    // Whether this thread may hold hash memory: true after a job, false once given back.
    let mut holding = false;
    loop {
        let job = if holding {
            match queue.recv_timeout(idle_release) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    latchkey_core::passwords::release_hash_memory();
                    holding = false;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return, // every sender is gone: the server is shutting down
            }
        };
        // A panicking job drops its reply channel (its requester gets a 500); the thread lives on.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        holding = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panicking_one() {
        let pool = HashPool::new(1);
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        #[allow(clippy::panic)]
        let failed = pool.run(|| -> u32 { panic!("boom") }).await;
        assert!(failed.is_err());
        assert_eq!(pool.run(|| 3).await.unwrap(), 3);
    }
}
