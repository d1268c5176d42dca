//! corridor's benchmarks: anyone can run them on their machine (`corridor bench`). Each
//! writes its lines through the caller's `out` and ends with a line holding a JSON object of
//! its figures; each returns whether what it measured also verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub mod aeo;
pub mod corridor;
pub mod ledger;
mod witness_lag;

/// The `p` quantile (0 to 1) of `sorted`, in microseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Runs `work(i)` for i in 0..n on `concurrency` tasks; returns each call's latency.
pub async fn drive<F, Fut>(n: usize, concurrency: usize, work: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (work, next) = (work.clone(), next.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(lat);
                }
                let t = Instant::now();
                work(i).await?;
                lat.push(t.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    all.sort_unstable();
    Ok(all)
}
