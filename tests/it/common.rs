//! Test databases (a temporary SQLite file, or a fresh PostgreSQL database per test) and helpers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use rosterbridge::ingest::{self, ImportOptions, ImportReport};
use rosterbridge::model::catalog::Entity;
use rosterbridge::model::record::Record;
use rosterbridge::store::records::{self, Scan};
use rosterbridge::store::Store;

pub struct TestDb {
    pub url: String,
    pub store: Store,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    /// A fresh, migrated database, or `None` when PostgreSQL is not configured (skip), unless
    /// RB_REQUIRE_POSTGRES is set, in which case a missing server fails the test.
    pub fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                let store = Store::open(&url).unwrap();
                Some(TestDb {
                    url,
                    store,
                    pg: None,
                    _dir: dir,
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var_os("RB_REQUIRE_POSTGRES").is_none(),
                        "RB_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
                    );
                    eprintln!("skipping: TEST_DATABASE_URL is not set");
                    return None;
                };
                let name = format!(
                    "rb_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                );
                let mut c = diesel::PgConnection::establish(&admin)
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required: {e}"));
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let base = admin.split('?').next().unwrap();
                let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
                let store = Store::open(&url).unwrap();
                Some(TestDb {
                    url,
                    store,
                    pg: Some((admin, name)),
                    _dir: dir,
                })
            }
        }
    }

    pub fn import(&self, path: &Path) -> ImportReport {
        ingest::import(&self.store, path, &ImportOptions::default()).unwrap()
    }

    /// Every record of `entity` (any status), in id order.
    pub fn all(&self, entity: Entity) -> Vec<Record> {
        let mut out = Vec::new();
        let mut conn = self.store.conn().unwrap();
        records::scan(&mut conn, entity, &Scan::default(), |_, page| {
            out.extend(page);
            Ok(())
        })
        .unwrap();
        out
    }

    pub fn get(&self, entity: Entity, id: &str) -> Option<Record> {
        self.all(entity).into_iter().find(|r| r.sourced_id == id)
    }

    /// Content of every record of every entity, without timestamps: what "the same store" means.
    pub fn snapshot(
        &self,
        active_only: bool,
    ) -> BTreeMap<&'static str, Vec<(String, String, String)>> {
        let mut out = BTreeMap::new();
        for e in Entity::ALL {
            let rows: Vec<_> = self
                .all(e)
                .into_iter()
                .filter(|r| !active_only || r.status == rosterbridge::model::Status::Active)
                .map(|r| {
                    (
                        r.sourced_id.clone(),
                        r.status.as_str().to_string(),
                        format!("{:?}|{:?}", r.values, r.metadata),
                    )
                })
                .collect();
            out.insert(e.name(), rows);
        }
        out
    }

    /// Generate a 1.2 district (`generate` with these sizes and seed) and import it.
    pub fn import_generated(
        &self,
        schools: u32,
        students_per_school: u32,
        seed: u64,
    ) -> ImportReport {
        let dir = tempfile::tempdir().unwrap();
        rosterbridge::generate::generate(
            dir.path(),
            &rosterbridge::generate::GenerateOptions {
                schools,
                students_per_school,
                seed,
                version: rosterbridge::model::catalog::Version::V1_2,
            },
        )
        .unwrap();
        self.import(dir.path())
    }

    pub fn count(&self, entity: Entity) -> (i64, i64) {
        records::counts(&mut self.store.conn().unwrap(), entity).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Define `<name>_sqlite` and `<name>_postgres` running the same body.
#[macro_export]
macro_rules! both {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn run($db: $crate::common::TestDb) $body
            #[test]
            fn sqlite() {
                run($crate::common::TestDb::new($crate::common::Backend::Sqlite).unwrap());
            }
            #[test]
            fn postgres() {
                if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres) {
                    run(db);
                }
            }
        }
    };
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copy a fixture package into a temporary folder so a test can edit it.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

/// Replace text in one file of a package folder (the pattern must occur).
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rosterbridge"))
}

/// Write a `manifest.csv` into `dir` declaring `files` as delta (everything else absent).
pub fn delta_manifest(dir: &Path, version: &str, files: &[&str]) {
    let mut m = format!("propertyName,value\nmanifest.version,1.0\noneroster.version,{version}\n");
    for f in files {
        m.push_str(&format!("file.{f},delta\n"));
    }
    std::fs::write(dir.join("manifest.csv"), m).unwrap();
}
