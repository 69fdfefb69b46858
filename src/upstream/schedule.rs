//! Syncs run by the server: on a schedule (`sync-every`, a full one every `full-sync-every`)
//! and when the console asks, one at a time, each on a thread of its own (never an async
//! worker), with the grade push after it when configured. The last outcome is kept for the
//! console; every run is in the import log like any import.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{push, sync, Client, UpstreamConfig};
use crate::ingest::ImportOptions;
use crate::model::time;
use crate::store::Store;

/// When the server syncs.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub every: Duration,
    /// A scheduled sync is full when the last full one is older than this.
    pub full_every: Option<Duration>,
}

/// The server's upstream: its settings, its schedule and the state of its runs.
#[derive(Clone)]
pub struct Syncer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: UpstreamConfig,
    schedule: Option<Schedule>,
    running: AtomicBool,
    last: Mutex<Option<String>>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Syncer({:?}, {:?})", self.inner.cfg, self.inner.schedule)
    }
}

impl Syncer {
    pub fn new(cfg: UpstreamConfig, schedule: Option<Schedule>) -> Syncer {
        Syncer {
            inner: Arc::new(Inner {
                cfg,
                schedule,
                running: AtomicBool::new(false),
                last: Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.inner.cfg
    }

    pub fn schedule(&self) -> Option<Schedule> {
        self.inner.schedule
    }

    /// Whether a run is in progress.
    pub fn running(&self) -> bool {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// The last run's outcome, in a line.
    pub fn last(&self) -> Option<String> {
        self.inner
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Start a run on a thread of its own; `false` when one is already running.
    pub fn start(&self, store: Store, full: bool) -> bool {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return false;
        }
        let me = self.clone();
        std::thread::spawn(move || {
            me.run_claimed(&store, full);
        });
        true
    }

    /// Run on this thread (the scheduler's); `false` when one is already running.
    pub fn run(&self, store: &Store, full: bool) -> bool {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.run_claimed(store, full);
        true
    }

    fn run_claimed(&self, store: &Store, full: bool) {
        let cfg = &self.inner.cfg;
        let client = Client::new(cfg);
        let synced = match &client {
            Ok(c) => sync(store, cfg, c, full, &ImportOptions::default()),
            Err(e) => Err(super::SyncError::Io(format!("upstream {e}"))),
        };
        let mut line = match synced {
            Ok(r) => {
                let changed: u64 = r.import.counts.values().map(|c| c.changed()).sum();
                let mut l = format!("{}: {changed} changes", super::describe(&r));
                if let Some(d) = r.import.diags.errors().next() {
                    l.push_str(&format!("; first error: {d}"));
                }
                l
            }
            Err(e) => format!("sync failed, the store is unchanged: {e}"),
        };
        if let (true, Ok(c)) = (cfg.push_grades, &client) {
            match push::push(store, cfg, c) {
                Ok(p) => line.push_str(&format!(
                    "; grade push: {} sent, {} deleted, {} refused",
                    p.sent,
                    p.deleted,
                    p.failed.len()
                )),
                Err(e) => line.push_str(&format!("; grade push failed: {e}")),
            }
        }
        tracing::info!(upstream = %cfg.base, "{line}");
        *self
            .inner
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(format!("{} {line}", time::now()));
        self.inner.running.store(false, Ordering::SeqCst);
    }

    /// Whether the scheduled run due now is a full one: never synced, or the last full sync
    /// is older than `full_every`.
    pub fn full_due(&self, store: &Store) -> bool {
        let Some(every) = self.inner.schedule.and_then(|s| s.full_every) else {
            return false;
        };
        let last = store
            .conn()
            .ok()
            .and_then(|mut c| crate::store::upstream::state(&mut c, &self.inner.cfg.base).ok())
            .flatten()
            .and_then(|s| s.last_full_at)
            .and_then(|t| time::parse_datetime(&t));
        match last {
            Some(t) => {
                let age = chrono::Utc::now() - t;
                age.to_std().unwrap_or_default() >= every
            }
            None => true,
        }
    }
}
