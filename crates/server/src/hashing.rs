//! The password-hashing pool. Hashes cost tens of milliseconds of CPU each; running them on the
//! async workers would stall every other request during a burst of logins. Each job runs on
//! tokio's blocking threads, and a semaphore admits at most one job per core, so a burst queues
//! here instead of oversubscribing the machine.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::{ApiError, ErrorType};

#[derive(Clone, Debug)]
pub struct HashPool {
    permits: Arc<Semaphore>,
}

impl HashPool {
    pub fn new(size: usize) -> HashPool {
        HashPool {
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// One job per available core.
    pub fn default_size() -> usize {
        std::thread::available_parallelism().map_or(2, |cores| cores.get())
    }

    /// Runs `job` off the async runtime once a permit is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let unavailable = || {
            ApiError::new(
                ErrorType::ServiceUnavailable,
                "The server is shutting down.",
            )
        };
        let _permit = self.permits.acquire().await.map_err(|_| unavailable())?;
        tokio::task::spawn_blocking(job).await.map_err(|error| {
            tracing::error!(%error, "password hashing job failed");
            ApiError::new(
                ErrorType::InternalServerError,
                "Something went wrong on the server.",
            )
        })
    }
}
