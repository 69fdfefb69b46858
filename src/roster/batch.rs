//! Group commit for writes through the roster service: concurrent writers queue their jobs, and
//! whichever takes the lead runs every job waiting at that moment in **one** transaction (one
//! import lock, one commit: one WAL flush on SQLite, one synchronous commit on PostgreSQL),
//! each job in its own savepoint so that a refused job takes nothing of its own with it and
//! nothing of the others. A job's answer is handed back only after the commit (or, when the
//! commit fails, that failure is every job's answer), so a 2xx always means committed.
//!
//! Writers that queue while a batch runs wait for the lead and find either their answer (the
//! batch took them) or the queue theirs to run.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::store::DbConnection;

/// A job: runs on the leader's connection inside the batch's transaction (the import lock
/// held); `Ok` keeps what it wrote, `Err` rolls its savepoint back. Either is its answer.
pub type Job<T> = Box<dyn FnOnce(&mut DbConnection) -> Result<T, T> + Send>;

/// A queued job and the slot its answer goes to.
type Queued<T> = (Job<T>, Arc<Mutex<Option<Answer<T>>>>);

/// A job's answer, or the store failure that took its batch.
pub type Answer<T> = Result<T, Arc<diesel::result::Error>>;

/// The group-commit queue of one store (a server holds one per kind of answer).
pub struct Batcher<T> {
    queue: Mutex<Vec<Queued<T>>>,
    lead: Mutex<()>,
    /// Most jobs one transaction takes (the rest wait for the next lead).
    max: usize,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Vec::new()),
            lead: Mutex::new(()),
            max: 64,
        }
    }
}

fn lock<U>(m: &Mutex<U>) -> MutexGuard<'_, U> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A job's failure inside the batch transaction: its refusal (roll its savepoint back, keep
/// the answer) or a store error (the same, answered as that error).
enum Failed<T> {
    Refused(T),
    Store(diesel::result::Error),
}

impl<T> From<diesel::result::Error> for Failed<T> {
    fn from(e: diesel::result::Error) -> Self {
        Failed::Store(e)
    }
}

impl<T: Send> Batcher<T> {
    /// Run `job` in a batch with whatever else is queued, on `conn` when this call leads.
    pub fn run(&self, conn: &mut DbConnection, job: Job<T>) -> Answer<T> {
        let slot = Arc::new(Mutex::new(None));
        lock(&self.queue).push((job, slot.clone()));
        loop {
            let _lead = lock(&self.lead);
            if let Some(answer) = lock(&slot).take() {
                return answer;
            }
            let batch: Vec<Queued<T>> = {
                let mut q = lock(&self.queue);
                let n = q.len().min(self.max);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                continue;
            }
            run_batch(conn, batch);
            if let Some(answer) = lock(&slot).take() {
                return answer;
            }
        }
    }
}

/// One transaction for `batch`: the import lock, each job in a savepoint; the answers are
/// delivered after the commit.
fn run_batch<T>(conn: &mut DbConnection, batch: Vec<Queued<T>>) {
    let (jobs, slots): (Vec<Job<T>>, Vec<_>) = batch.into_iter().unzip();
    let outcome = diesel::Connection::transaction(conn, |c| {
        crate::store::imports::lock(c, &crate::model::time::now())?;
        let mut answers: Vec<Answer<T>> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let run = diesel::Connection::transaction(c, |c| job(c).map_err(Failed::Refused));
            answers.push(match run {
                Ok(v) | Err(Failed::Refused(v)) => Ok(v),
                Err(Failed::Store(e)) => Err(Arc::new(e)),
            });
        }
        Ok::<_, diesel::result::Error>(answers)
    });
    match outcome {
        Ok(answers) => {
            for (slot, answer) in slots.iter().zip(answers) {
                *lock(slot) = Some(answer);
            }
        }
        Err(e) => {
            let e = Arc::new(e);
            for slot in &slots {
                *lock(slot) = Some(Err(e.clone()));
            }
        }
    }
}
