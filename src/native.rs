//! Process-wide settings of the two C libraries linked into the binary, SQLite and mimalloc:
//! the crate's only `unsafe` code (one configuration call each, made once, before the library
//! is in use; see `unsafe_code` in Cargo.toml).
#![allow(unsafe_code)]

/// Put SQLite in multi-thread mode (once, before its first connection): no mutex around every
/// call on a connection. Safe here because a Diesel connection is never used by two threads at
/// once (it is `Send`, not `Sync`; the pool hands each to one user). Serialized mode's mutexes
/// cost about 6 % of an import and of the server's SQLite time (docs/PERFORMANCE.md). Memory
/// statistics are switched off too (they take a global mutex on every allocation; nothing here
/// reads them). If SQLite was already initialised, `sqlite3_config` refuses and the defaults
/// stay: still correct.
pub fn sqlite_multithread() {
    use libsqlite3_sys::{sqlite3_config, SQLITE_CONFIG_MEMSTATUS, SQLITE_CONFIG_MULTITHREAD};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called before any connection exists in this process (Once, first connect);
        // SQLITE_CONFIG_MULTITHREAD takes no argument, SQLITE_CONFIG_MEMSTATUS one C int.
        let threads = unsafe { sqlite3_config(SQLITE_CONFIG_MULTITHREAD) };
        let stats = unsafe { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        tracing::debug!(
            threads,
            stats,
            "sqlite multi-thread mode, no memory statistics"
        );
    });
}

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys 0.1.49 bundles 3.3.2;
/// the crate exports its neighbour, 16, but not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Purge delay, ms. Measured on the benchmark district (docs/PERFORMANCE.md), server peak RSS
/// after 10,000-record extraction pages / SOAP readPersons(100) req/s: 1,000 (mimalloc's
/// default) 259 MB / 991; 50: 181 MB / 960; 10: 162 MB / 1,023; 0: 148 MB / 662 (every large
/// response's pages were unmapped and faulted in again).
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Make mimalloc give freed memory back to the OS after 10 ms instead of its default 1,000 ms,
/// a delay it only checks on a thread's next allocation: the server's blocking threads go idle
/// after a burst and kept what they had freed. Call at the start of `main`.
pub fn prompt_memory_return() {
    // SAFETY: mi_option_set only stores the value in mimalloc's option table; it is read on
    // later purges. The option index is checked against the bundled header in the test below.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_index_is_the_bundled_mimallocs() {
        // The neighbour the crate does export pins the enum's numbering next to our constant.
        assert_eq!(
            libmimalloc_sys::mi_option_use_numa_nodes - 1,
            super::MI_OPTION_PURGE_DELAY
        );
        super::prompt_memory_return();
        // SAFETY: reads the option table.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) },
            super::PURGE_DELAY_MS
        );
    }
}
