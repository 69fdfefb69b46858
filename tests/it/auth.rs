//! The client registry and OAuth 2 client-credentials tokens, on both backends: secrets and
//! tokens are stored hashed, grants are the intersection of requested and allowed scopes,
//! tokens coexist and expire.

use diesel::sql_types::Text;
use diesel::RunQueryDsl;
use rosterbridge::auth::{self, scopes, OAuthError};

use crate::both;
use crate::common::{bin, Backend, TestDb};

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    v: String,
}

fn column(db: &TestDb, sql: &str) -> Vec<String> {
    let mut conn = db.store.conn().unwrap();
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut *conn).unwrap();
    rows.into_iter().map(|r| r.v).collect()
}

both!(
    client_credentials_grant_the_intersection_and_store_only_hashes,
    |db| {
        let key = auth::oauth1::ServerKey::random().unwrap();
        let c = auth::add_client(
            &db.store,
            &key,
            "Acme LMS",
            &[
                "roster-core.readonly".into(),
                "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly".into(),
            ],
            &["s1".into()],
        )
        .unwrap();
        assert_eq!(
            c.scopes.len(),
            3,
            "a short name covers 1.1 and 1.2: {:?}",
            c.scopes
        );
        // The secret is nowhere in the database; its argon2id hash is.
        let stored = column(&db, "SELECT secret_hash AS v FROM clients");
        assert!(stored[0].starts_with("$argon2id$") && !stored[0].contains(&c.client_secret));
        // No scope requested → everything the client may have.
        let t = auth::issue_token(&db.store, &c.client_id, &c.client_secret, None)
            .unwrap()
            .unwrap();
        assert_eq!(t.scope.split(' ').count(), 3);
        assert_eq!(t.expires_in, 3600);
        // Requested ∩ allowed; an unknown or disallowed scope is dropped silently.
        let req = format!(
            "{}roster-core.readonly {}gradebook.delete bogus",
            scopes::V1P2,
            scopes::V1P2
        );
        let t2 = auth::issue_token(&db.store, &c.client_id, &c.client_secret, Some(&req))
            .unwrap()
            .unwrap();
        assert_eq!(t2.scope, format!("{}roster-core.readonly", scopes::V1P2));
        // Nothing grantable → invalid_scope; wrong secret or id → invalid_client.
        let none = auth::issue_token(
            &db.store,
            &c.client_id,
            &c.client_secret,
            Some("gradebook.delete"),
        )
        .unwrap();
        assert_eq!(none, Err(OAuthError::InvalidScope));
        assert_eq!(
            auth::issue_token(&db.store, &c.client_id, "wrong", None).unwrap(),
            Err(OAuthError::InvalidClient)
        );
        assert_eq!(
            auth::issue_token(&db.store, "nobody", &c.client_secret, None).unwrap(),
            Err(OAuthError::InvalidClient)
        );
        // Both tokens work (a new one never revokes an older one); only hashes are stored.
        let b1 = auth::verify_bearer(&db.store, &t.access_token)
            .unwrap()
            .unwrap();
        let b2 = auth::verify_bearer(&db.store, &t2.access_token)
            .unwrap()
            .unwrap();
        assert_eq!(
            (b1.client_id.as_str(), b1.scopes.len()),
            (c.client_id.as_str(), 3)
        );
        assert_eq!(b2.scopes, [format!("{}roster-core.readonly", scopes::V1P2)]);
        assert_eq!(
            b1.rules,
            Some(vec![rosterbridge::model::sharing::Rule::orgs(&[
                "s1".to_string()
            ])])
        );
        let hashes = column(
            &db,
            "SELECT token_hash AS v FROM access_tokens ORDER BY token_hash",
        );
        assert_eq!(hashes.len(), 2);
        assert!(hashes
            .iter()
            .all(|h| h.len() == 64 && *h != t.access_token && *h != t2.access_token));
        assert_eq!(auth::verify_bearer(&db.store, "not-a-token").unwrap(), None);
        // Expired tokens are refused.
        let mut conn = db.store.conn().unwrap();
        diesel::sql_query("UPDATE access_tokens SET expires_at = '2000-01-01T00:00:00.000Z'")
            .execute(&mut *conn)
            .unwrap();
        assert_eq!(
            auth::verify_bearer(&db.store, &t.access_token).unwrap(),
            None
        );
        // Removing the client removes its tokens.
        assert!(rosterbridge::store::clients::remove(&mut conn, &c.client_id).unwrap());
        assert!(column(&db, "SELECT token_hash AS v FROM access_tokens").is_empty());
    }
);

#[test]
fn client_cli_shows_the_secret_once_and_lists_without_it() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    // The orgs a client is restricted to must be in the store.
    db.import(&crate::common::fixture("valid-1.2"));
    let run = |args: &[&str]| {
        let o = std::process::Command::new(bin())
            .args(args)
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, out, err) = run(&[
        "client",
        "add",
        "Acme",
        "--scopes",
        "roster-core.readonly,roster.readonly",
        "--orgs",
        "s1,s2",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (id, secret) = (
        v["client_id"].as_str().unwrap(),
        v["client_secret"].as_str().unwrap(),
    );
    assert_eq!(out.trim().lines().count(), 1);
    assert!(secret.len() >= 32);
    let (_, list, _) = run(&["client", "list"]);
    assert!(
        list.contains(id) && list.contains(" s1,s2 ") && !list.contains(secret),
        "{list}"
    );
    assert!(auth::issue_token(&db.store, id, secret, None)
        .unwrap()
        .is_ok());
    let (code, _, err) = run(&["client", "add", "Bad", "--scopes", "roster.everything"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown scope 'roster.everything'"), "{err}");
    assert_eq!(run(&["client", "remove", id]).0, Some(0));
    assert_eq!(run(&["client", "remove", id]).0, Some(1));
}
