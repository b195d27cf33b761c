//! The password-hashing pool. Hashes cost tens of milliseconds of CPU each; running them on the
//! async workers would stall every other request during a burst of logins. Jobs run on a fixed
//! set of threads, one per core, so a burst queues here instead of oversubscribing the machine.
//! Password strength scoring (zxcvbn), whose worst inputs cost as much, runs here too.
//!
//! Fixed threads rather than tokio's blocking pool: argon2id needs 19 MiB of working memory per
//! hash, which each hashing thread keeps and reuses (a changing set of blocking threads keeps
//! touching fresh pages: measured in `bench/run`, a fifth of the login throughput and hundreds
//! of MiB of resident memory). A thread that has had no job for [`IDLE_RELEASE`] gives that
//! memory back, so an idle server stays small.
//!
//! The queue is bounded ([`QueueBounds`]): a project may have so many jobs admitted and not yet
//! finished, and the server so many in all. Past its project's bound a job is refused at once
//! with 429 `too_many_requests`, past the server's with 503 `service_unavailable`, both with
//! `Retry-After`, instead of waiting behind work its request would time out on. A queued job
//! whose requester has gone (its request timed out, or its client hung up) is skipped: nobody
//! would read its result.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use latchkey_core::ids::ProjectId;
use tokio::sync::oneshot;

use crate::error::{ApiError, ErrorType};

/// How long a hashing thread waits for work before giving back its hash memory.
pub const IDLE_RELEASE: Duration = Duration::from_secs(5);

/// The seconds a refused job's requester is told to wait (`Retry-After`).
pub const REFUSED_RETRY_AFTER_SECONDS: u64 = 1;

type Job = Box<dyn FnOnce() + Send>;

/// How many jobs may be admitted and not yet finished (queued or running).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueBounds {
    /// In all, across projects.
    pub total: usize,
    /// Of one project.
    pub per_project: usize,
}

impl QueueBounds {
    /// 32 jobs per hashing thread in all, 16 per project: with argon2id at its default cost
    /// (about 30 ms a hash), a full queue drains in about a second.
    pub fn for_threads(threads: usize) -> QueueBounds {
        let threads = threads.max(1);
        QueueBounds {
            total: 32 * threads,
            per_project: 16 * threads,
        }
    }
}

#[derive(Clone, Debug)]
pub struct HashPool {
    jobs: Sender<Job>,
    /// Jobs sent and not yet started: the queue depth metrics report.
    queued: Arc<AtomicUsize>,
    admitted: Arc<Mutex<Admitted>>,
    bounds: QueueBounds,
    /// Jobs skipped because their requester had gone.
    skipped: Arc<AtomicU64>,
}

/// Jobs admitted and not finished, in all and per project (a project with none has no entry).
#[derive(Debug, Default)]
struct Admitted {
    total: usize,
    per_project: HashMap<String, usize>,
}

/// A job's place under the bounds, given back when the job is done with: run, skipped, or
/// dropped unrun.
struct Place {
    admitted: Arc<Mutex<Admitted>>,
    project: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut admitted = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        admitted.total = admitted.total.saturating_sub(1);
        if let Some(count) = admitted.per_project.get_mut(&self.project) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                admitted.per_project.remove(&self.project);
            }
        }
    }
}

impl HashPool {
    /// Starts `size` hashing threads. They stop when the last clone of the pool is dropped.
    pub fn new(size: usize, bounds: QueueBounds) -> HashPool {
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
            admitted: Arc::new(Mutex::new(Admitted::default())),
            bounds,
            skipped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The same pool (threads, queue and counts) under other bounds.
    pub fn with_bounds(mut self, bounds: QueueBounds) -> HashPool {
        self.bounds = bounds;
        self
    }

    /// Jobs waiting for a hashing thread.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Jobs admitted and not yet finished (waiting or running).
    pub fn admitted(&self) -> usize {
        self.admitted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// Jobs skipped so far because nobody was waiting for them any more.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// One thread per available core.
    pub fn default_size() -> usize {
        std::thread::available_parallelism().map_or(2, |cores| cores.get())
    }

    /// Runs `job` for `project_id` on a hashing thread and waits for its result without
    /// blocking the runtime; refused at once when the queue is full (see the module's
    /// documentation). Dropping the returned future before the job starts skips the job.
    pub async fn run<T, F>(&self, project_id: &ProjectId, job: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let place = self.admit(project_id)?;
        let (reply, answer) = oneshot::channel();
        let queued = self.queued.clone();
        let skipped = self.skipped.clone();
        let job: Job = Box::new(move || {
            queued.fetch_sub(1, Ordering::Relaxed);
            if reply.is_closed() {
                skipped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("latchkey_hash_jobs_skipped_total").increment(1);
                return;
            }
            let result = job();
            // The place is given back before the answer leaves, so a requester that has its
            // answer finds its place free (a panicking job gives it back as it unwinds).
            drop(place);
            // The requester may go away while the job runs; then the result is simply dropped.
            let _ = reply.send(result);
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

    /// A place under the bounds for one more job of `project_id`, or the refusal.
    fn admit(&self, project_id: &ProjectId) -> Result<Place, ApiError> {
        let project = project_id.as_str();
        let mut admitted = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        let theirs = admitted.per_project.get(project).copied().unwrap_or(0);
        if theirs >= self.bounds.per_project {
            metrics::counter!("latchkey_hash_jobs_refused_total", "bound" => "project")
                .increment(1);
            return Err(ApiError::new(
                ErrorType::TooManyRequests,
                format!(
                    "This project already has {theirs} password operations waiting, as many as \
                     it may; try again shortly."
                ),
            )
            .retry_after(REFUSED_RETRY_AFTER_SECONDS));
        }
        if admitted.total >= self.bounds.total {
            metrics::counter!("latchkey_hash_jobs_refused_total", "bound" => "server").increment(1);
            return Err(ApiError::new(
                ErrorType::ServiceUnavailable,
                "The server has as many password operations waiting as it takes; try again \
                 shortly.",
            )
            .retry_after(REFUSED_RETRY_AFTER_SECONDS));
        }
        admitted.total += 1;
        *admitted.per_project.entry(project.to_owned()).or_insert(0) += 1;
        Ok(Place {
            admitted: self.admitted.clone(),
            project: project.to_owned(),
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
    use latchkey_core::Environment;

    use super::*;

    fn project() -> ProjectId {
        ProjectId::generate(Environment::Test)
    }

    const ROOMY: QueueBounds = QueueBounds {
        total: 100,
        per_project: 100,
    };

    /// Occupies the pool's one thread until the returned sender is dropped or sent to.
    async fn occupy(pool: &HashPool, project: &ProjectId) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let pool = pool.clone();
        let project = project.clone();
        tokio::spawn(async move {
            let _ = pool
                .run(&project, move || {
                    let _ = started.send(());
                    let _ = wait.recv();
                })
                .await;
        });
        running.await.unwrap();
        release
    }

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panicking_one() {
        let pool = HashPool::new(1, ROOMY);
        let project = project();
        assert_eq!(pool.run(&project, || 2 + 2).await.unwrap(), 4);
        #[allow(clippy::panic)]
        let failed = pool.run(&project, || -> u32 { panic!("boom") }).await;
        assert!(failed.is_err());
        assert_eq!(pool.run(&project, || 3).await.unwrap(), 3);
        assert_eq!(pool.admitted(), 0, "every place was given back");
    }

    #[tokio::test]
    async fn a_job_whose_requester_is_gone_is_skipped() {
        let pool = HashPool::new(1, ROOMY);
        let project = project();
        let release = occupy(&pool, &project).await;
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        // Queued behind the running job, then abandoned (as a timed-out request abandons it).
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            pool.run(&project, move || flag.store(true, Ordering::SeqCst)),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the job cannot have run: the thread is busy"
        );
        assert_eq!(pool.queue_depth(), 1);
        drop(release);
        // One thread, first in first out: once this one has run, the abandoned one was reached.
        assert_eq!(pool.run(&project, || 7).await.unwrap(), 7);
        assert!(!ran.load(Ordering::SeqCst), "an abandoned job ran");
        assert_eq!(pool.skipped(), 1);
        assert_eq!(pool.admitted(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let bounds = QueueBounds {
            total: 3,
            per_project: 2,
        };
        let pool = HashPool::new(1, bounds);
        let (busy, other, third) = (project(), project(), project());
        let release = occupy(&pool, &busy).await;
        // A second job of the busy project waits behind the first.
        let queued_pool = pool.clone();
        let queued_project = busy.clone();
        let waiting = tokio::spawn(async move { queued_pool.run(&queued_project, || 1).await });
        while pool.admitted() < 2 {
            tokio::task::yield_now().await;
        }
        // The busy project is at its bound: refused with 429, without waiting.
        let refused = pool.run(&busy, || 0).await.unwrap_err();
        assert_eq!(refused.error_type, ErrorType::TooManyRequests);
        assert_eq!(refused.retry_after, Some(REFUSED_RETRY_AFTER_SECONDS));
        // Another project is admitted, up to the server's bound; past it, 503.
        let other_pool = pool.clone();
        let other_project = other.clone();
        let admitted = tokio::spawn(async move { other_pool.run(&other_project, || 2).await });
        while pool.admitted() < 3 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(&third, || 0).await.unwrap_err();
        assert_eq!(refused.error_type, ErrorType::ServiceUnavailable);
        assert_eq!(refused.retry_after, Some(REFUSED_RETRY_AFTER_SECONDS));
        drop(release);
        assert_eq!(waiting.await.unwrap().unwrap(), 1);
        assert_eq!(admitted.await.unwrap().unwrap(), 2);
        // The places are given back: the busy project is admitted again.
        assert_eq!(pool.run(&busy, || 4).await.unwrap(), 4);
        assert_eq!(pool.admitted(), 0);
    }
}
