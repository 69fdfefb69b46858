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
});
