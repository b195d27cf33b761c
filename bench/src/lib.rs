//! What the baselines share: run one piece of work on every core for a while and count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One thread per core, unless `threads` says otherwise.
pub fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    })
}

/// Runs `threads` threads for `seconds`, each repeating the work `worker` makes for it (its own
/// state, say a buffer, set up before the clock matters) until the deadline. Returns how many
/// times the work was done and the seconds it took: work still running at the deadline finishes
/// and is counted, so divide by the time it actually took.
pub fn count_for<W>(
    threads: usize,
    seconds: f64,
    worker: impl Fn() -> W + Sync,
) -> anyhow::Result<(u64, f64)>
where
    W: FnMut() -> Result<(), String>,
{
    let done = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    let mut work = worker();
                    while !done.load(Ordering::Relaxed) {
                        work()?;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        done.store(true, Ordering::Relaxed);
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a worker thread panicked"))?
                .map_err(|error| anyhow::anyhow!(error))?;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok((
        count.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    ))
}
