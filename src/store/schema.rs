//! Diesel table declarations of the fixed-shape tables: API clients, their tokens, OAuth 1.0a /
//! WS-Security nonces, the import log and the import lock (migrations `…000001` to `…000004`),
//! console administrators, sessions, the audit log and app usage (`…000009`, `…000010`;
//! the same column types on both backends; `…000005` gives the roster's references the ids'
//! collation on PostgreSQL). The roster's own tables are built from the
//! catalogue instead (`store::ddl`) and queried through `store::sql`.

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Text,
        /// Space-separated scope URIs.
        scopes -> Text,
        /// Comma-separated org sourcedIds; NULL: every org.
        orgs -> Nullable<Text>,
        created_at -> Text,
        secret_salt -> Nullable<Text>,
        /// When the app was disabled; NULL: enabled.
        disabled_at -> Nullable<Text>,
        /// Sharing rules, one per line; NULL: `orgs` decides.
        sharing -> Nullable<Text>,
        /// Masked JSON field names, comma-separated.
        mask -> Nullable<Text>,
    }
}

diesel::table! {
    access_tokens (token_hash) {
        token_hash -> Text,
        client_id -> Text,
        scopes -> Text,
        issued_at -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    oauth1_nonces (client_id, ts, nonce) {
        client_id -> Text,
        ts -> BigInt,
        nonce -> Text,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        started_at -> Text,
        finished_at -> Text,
        source -> Text,
        oneroster_version -> Nullable<Text>,
        outcome -> Text,
        summary -> Text,
        errors -> Text,
        error_count -> BigInt,
        warning_count -> BigInt,
    }
}

diesel::table! {
    import_lock (id) {
        id -> Integer,
        held_at -> Nullable<Text>,
    }
}

diesel::table! {
    admins (name) {
        name -> Text,
        password_hash -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Text,
        actor -> Text,
        action -> Text,
        detail -> Text,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Text,
        admin -> Text,
        created_at -> Text,
        last_seen -> Text,
    }
}

diesel::table! {
    client_usage (client_id, day) {
        client_id -> Text,
        day -> Text,
        requests -> BigInt,
        errors -> BigInt,
        last_call -> Text,
    }
}

diesel::table! {
    share_view (client_id, entity, sourced_id) {
        client_id -> Text,
        entity -> Text,
        sourced_id -> Text,
        entered_at -> Nullable<Text>,
    }
}

diesel::table! {
    share_departures (client_id, entity, sourced_id) {
        client_id -> Text,
        entity -> Text,
        sourced_id -> Text,
        left_at -> Text,
    }
}

diesel::table! {
    share_state (client_id) {
        client_id -> Text,
        generation -> BigInt,
        signature -> Text,
        refreshed_at -> Text,
    }
}

diesel::table! {
    sync_state (upstream) {
        upstream -> Text,
        high_water -> Nullable<Text>,
        last_sync_at -> Nullable<Text>,
        last_full_at -> Nullable<Text>,
    }
}

diesel::table! {
    grade_outbox (entity, sourced_id) {
        entity -> Text,
        sourced_id -> Text,
        queued_at -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
    }
}
