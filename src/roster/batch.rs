//! Group commit for writes through the roster service: concurrent writers queue their jobs, and
//! whichever takes the lead runs every job waiting at that moment in **one** transaction (one
//! import lock, one commit: one WAL flush on SQLite, one synchronous commit on PostgreSQL).
//!
//! A job has two steps. `prepare` (checks and reads, in its own savepoint) says what it would
//! write, or answers at once. The records of every prepared job whose caller is unrestricted
//! are then written as **one** delta (one pass of the importer's validation and apply for the
//! whole batch); when that delta is refused (one bad record, or two jobs writing the same
//! record), nothing of it is kept and each job writes alone, through `Roster::write`, in its
//! own savepoint, so a refusal takes nothing of the others with it. Jobs of restricted callers
//! always write alone (the write rule is checked per caller).
//!
//! A job's answer is handed back only after the commit (or, when the commit fails, that
//! failure is every job's answer), so a 2xx always means committed. Writers that queue while a
//! batch runs wait for the lead and find either their answer or the queue theirs to run.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::ingest::{self, ImportOptions};
use crate::model::record::Record;
use crate::store::DbConnection;

/// A job's first step, run in the batch transaction (the import lock held) in a savepoint:
/// what it writes, or its answer (`Err`: nothing to write; the savepoint is kept).
pub type Prepare<T> = Box<dyn FnOnce(&mut DbConnection) -> Result<Prepared<T>, T> + Send>;

/// A job's write when it cannot share the batch's delta: `Ok` keeps what it wrote, `Err`
/// rolls its savepoint back. Either is its answer.
pub type WriteAlone<T> = Box<dyn FnOnce(&mut DbConnection) -> Result<T, T> + Send>;

/// What a prepared job writes.
pub struct Prepared<T> {
    /// The records, when they may join the batch's one delta (an unrestricted caller whose
    /// scopes were checked); `None`: the job always writes alone.
    pub shared: Option<Vec<Record>>,
    /// The answer when the shared delta committed.
    pub done: T,
    /// Who writes (a client id), for the shared delta's entry in the import log.
    pub writer: String,
    /// The write on its own.
    pub alone: WriteAlone<T>,
}

/// A queued job and the slot its answer goes to.
type Queued<T> = (Prepare<T>, Arc<Mutex<Option<Answer<T>>>>);

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

/// A step's failure inside the batch transaction: its answer (roll its savepoint back, keep
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

impl<T> From<ingest::ImportError> for Failed<T> {
    fn from(e: ingest::ImportError) -> Self {
        match e {
            ingest::ImportError::Db(d) => Failed::Store(d),
            other => Failed::Store(diesel::result::Error::QueryBuilderError(other.into())),
        }
    }
}

impl<T: Send> Batcher<T> {
    /// Run a job in a batch with whatever else is queued, on `conn` when this call leads.
    pub fn run(&self, conn: &mut DbConnection, job: Prepare<T>) -> Answer<T> {
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

/// `step` in a savepoint: `Ok` kept, `Err` rolled back; either way an answer.
fn savepoint<T>(
    conn: &mut DbConnection,
    step: impl FnOnce(&mut DbConnection) -> Result<T, Failed<T>>,
) -> Answer<T> {
    match diesel::Connection::transaction(conn, step) {
        Ok(v) | Err(Failed::Refused(v)) => Ok(v),
        Err(Failed::Store(e)) => Err(Arc::new(e)),
    }
}

/// One transaction for `batch`; the answers are delivered after the commit.
fn run_batch<T>(conn: &mut DbConnection, batch: Vec<Queued<T>>) {
    let (jobs, slots): (Vec<Prepare<T>>, Vec<_>) = batch.into_iter().unzip();
    let outcome = diesel::Connection::transaction(conn, |c| {
        crate::store::imports::lock(c, &crate::model::time::now())?;
        let mut answers: Vec<Option<Answer<T>>> = (0..jobs.len()).map(|_| None).collect();
        // Step one: every job prepares (an answer now, or what it writes).
        let mut prepared: Vec<(usize, Prepared<T>)> = Vec::new();
        for (i, prepare) in jobs.into_iter().enumerate() {
            match savepoint(c, |c| Ok(prepare(c))) {
                Ok(Ok(p)) => prepared.push((i, p)),
                Ok(Err(answer)) => answers[i] = Some(Ok(answer)),
                Err(e) => answers[i] = Some(Err(e)),
            }
        }
        // Step two: the shared records as one delta; when it is refused, each alone.
        let sharing = prepared.iter().filter(|(_, p)| p.shared.is_some()).count();
        let mut alone: Vec<(usize, Prepared<T>)> = Vec::new();
        if sharing > 1 {
            let (shared, rest): (Vec<_>, Vec<_>) =
                prepared.into_iter().partition(|(_, p)| p.shared.is_some());
            alone.extend(rest);
            let records: Vec<Record> = shared
                .iter()
                .flat_map(|(_, p)| p.shared.iter().flatten().cloned())
                .collect();
            let mut writers: Vec<&str> = shared.iter().map(|(_, p)| p.writer.as_str()).collect();
            writers.sort_unstable();
            writers.dedup();
            let label = format!("batch of {} writes:{}", shared.len(), writers.join(","));
            let outbox = super::write::grade_outbox(&records);
            let together = diesel::Connection::transaction(c, |c| {
                let report =
                    ingest::import_records_on(c, records, &label, &ImportOptions::default())?;
                if report.outcome == ingest::Outcome::Committed {
                    super::write::queue_outbox(c, &outbox).map_err(Failed::Store)?;
                    Ok(true)
                } else {
                    Err(Failed::Refused(false))
                }
            });
            match together {
                Ok(true) => {
                    for (i, p) in shared {
                        answers[i] = Some(Ok(p.done));
                    }
                }
                Ok(false) | Err(Failed::Refused(_)) => alone.extend(shared),
                Err(Failed::Store(e)) => return Err(e),
            }
        } else {
            alone = prepared;
        }
        alone.sort_by_key(|(i, _)| *i);
        for (i, p) in alone {
            answers[i] = Some(savepoint(c, |c| (p.alone)(c).map_err(Failed::Refused)));
        }
        Ok::<_, diesel::result::Error>(answers)
    });
    match outcome {
        Ok(answers) => {
            for (slot, answer) in slots.iter().zip(answers) {
                *lock(slot) = Some(answer.unwrap_or_else(|| {
                    Err(Arc::new(diesel::result::Error::QueryBuilderError(
                        "a job of the batch was not run".into(),
                    )))
                }));
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
