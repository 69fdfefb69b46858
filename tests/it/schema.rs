//! Schema conformance: every catalogue column of every table can be read on both backends, and
//! migrations can be reverted and reapplied.

use rosterbridge::model::catalog::Entity;
use rosterbridge::store::records::{self, Scan};

use crate::both;

both!(every_catalogue_column_exists_on_the_backend, |db| {
    let mut conn = db.store.conn().unwrap();
    for e in Entity::ALL {
        let rows = records::page(
            &mut conn,
            e,
            &Scan {
                active_only: true,
                since: Some("2000-01-01T00:00:00.000Z".into()),
                column_in: None,
            },
            "",
            1,
        );
        assert!(rows.is_ok(), "{}: {:?}", e.table(), rows.err());
    }
    assert_eq!(db.store.migrate().unwrap(), 0, "migrations are idempotent");
    // Every down.sql undoes its up.sql: revert all, then apply all again, on each backend.
    drop(conn);
    assert_eq!(db.store.revert_all_migrations().unwrap(), 15);
    let mut conn = db.store.conn().unwrap();
    assert!(
        records::page(&mut conn, Entity::Users, &Scan::default(), "", 1).is_err(),
        "tables are gone"
    );
    drop(conn);
    assert_eq!(db.store.migrate().unwrap(), 15);
    assert_eq!(
        db.import(&crate::common::fixture("valid-1.2")).outcome,
        rosterbridge::ingest::Outcome::Committed
    );
});
