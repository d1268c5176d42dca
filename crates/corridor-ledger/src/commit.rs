//! Group commit for a sled database: many writers, one flusher thread, waiters released
//! together. The ledger itself group-commits its log in its writer; this is what `corridor
//! bench ledger` measures raw sled inserts with, for comparison.
//!
//! A writer applies its batch to sled, then takes a ticket with [`GroupCommit::request`]
//! and awaits [`GroupCommit::durable`]. The flusher thread reads the highest ticket, calls
//! `sled::Db::flush` once (which persists every batch applied before it started) and
//! publishes that ticket as flushed, releasing every waiter at or below it. Only this one
//! thread flushes: sled 0.34's `flush_async` deadlocks when several tasks call it at once
//! (sled issue 1308).

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::error::Error;

#[derive(Default)]
struct Requests {
    requested: u64,
    stop: bool,
}

#[derive(Clone, Debug, Default)]
struct Flushed {
    upto: u64,
    failed: Option<Arc<str>>,
}

struct Shared {
    requests: Mutex<Requests>,
    wake: Condvar,
    flushed: watch::Sender<Flushed>,
}

/// The group-commit flusher of one sled database.
pub struct GroupCommit {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`.
    pub fn start(db: sled::Db) -> Self {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Requests::default()),
            wake: Condvar::new(),
            flushed: watch::channel(Flushed::default()).0,
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-flusher".into())
            .spawn(move || flusher(&s, &db))
            .ok();
        Self {
            shared,
            thread: Mutex::new(thread),
        }
    }

    /// Takes a ticket covering every write applied before this call and wakes the flusher.
    pub fn request(&self) -> u64 {
        let mut r = lock(&self.shared.requests);
        r.requested += 1;
        let ticket = r.requested;
        drop(r);
        self.shared.wake.notify_one();
        ticket
    }

    /// Waits until the flush covering `ticket` is done.
    pub async fn durable(&self, ticket: u64) -> Result<(), Error> {
        let mut rx = self.shared.flushed.subscribe();
        let state = rx
            .wait_for(|f| f.upto >= ticket || f.failed.is_some())
            .await
            .map_err(|_| Error::Write("flusher stopped".into()))?;
        match &state.failed {
            Some(e) => Err(Error::Write(e.to_string())),
            None => Ok(()),
        }
    }

    /// Flushes everything applied so far and waits for it.
    pub async fn sync(&self) -> Result<(), Error> {
        let t = self.request();
        self.durable(t).await
    }

    /// Stops the flusher after a last flush of everything requested.
    pub fn stop(&self) {
        lock(&self.shared.requests).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn flusher(shared: &Shared, db: &sled::Db) {
    let mut done = 0u64;
    loop {
        let (target, stop) = {
            let mut r = lock(&shared.requests);
            while r.requested == done && !r.stop {
                r = shared.wake.wait(r).unwrap_or_else(|p| p.into_inner());
            }
            (r.requested, r.stop)
        };
        let result = db.flush();
        done = target;
        shared.flushed.send_modify(|f| match &result {
            Ok(_) => f.upto = target,
            Err(e) => f.failed = Some(Arc::from(e.to_string())),
        });
        if result.is_err() {
            tracing::error!(error = ?result, "ledger flush failed; refusing further acknowledgements");
            return;
        }
        if stop {
            return;
        }
    }
}
