//! Versioned schema migrations.
//!
//! Each backend has an ordered list of migrations (`version` 1, 2, 3, … with no gaps). The
//! `schema_version` table (created outside the list, so it exists before v1) records one row
//! per applied migration; the database's version is the largest. At open, inside a single
//! transaction (SQLite `BEGIN IMMEDIATE`; PostgreSQL with an advisory lock so two processes
//! starting together do not race), every migration newer than the database is applied in
//! order — so a crash mid-way leaves the previous version intact. A database newer than the
//! list is refused ([`StoreError::SchemaTooNew`]): an old binary must not write a schema it
//! does not understand.
//!
//! To change the schema, append a `Migration` to *both* lists (same version number, same
//! logical change) and keep the SQL of already-released versions untouched. The tests check
//! that the lists are dense and that both backends end at the same version.

use crate::StoreError;

/// One schema step. `sql` may contain several statements.
#[derive(Debug)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// DDL for the version table itself (identical in both dialects).
pub(crate) const SCHEMA_VERSION_DDL: &str = "CREATE TABLE IF NOT EXISTS schema_version (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

pub(crate) static SQLITE: &[Migration] = &[
Migration {
    version: 1,
    name: "kv and jobs",
    sql: "
        CREATE TABLE kv (
            space TEXT NOT NULL,
            key BLOB NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (space, key)
        ) WITHOUT ROWID;
        -- AUTOINCREMENT: job ids are never reused, so a stale worker cannot complete a newer job.
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            payload BLOB NOT NULL,
            run_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_until INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX jobs_run_at ON jobs (run_at);
    ",
},
Migration {
    version: 2,
    name: "kv values out of the key b-tree",
    // A WITHOUT ROWID table is one index b-tree whose interior cells carry whole rows: with
    // CloudTrail records (~1 KiB) as values, interior pages held about two cells each and
    // every leaf split copied a record upwards. Measured on a store of 213,000 records: 27,501
    // interior pages for 55,372 leaves, leaves 61% full. A rowid table appends values in
    // order (full pages, 8-byte interior cells); the unique index holds only (space, key).
    sql: "
        CREATE TABLE kv_rows (
            id INTEGER PRIMARY KEY,
            space TEXT NOT NULL,
            key BLOB NOT NULL,
            value BLOB NOT NULL
        );
        INSERT INTO kv_rows (space, key, value) SELECT space, key, value FROM kv ORDER BY space, key;
        DROP TABLE kv;
        ALTER TABLE kv_rows RENAME TO kv;
        CREATE UNIQUE INDEX kv_space_key ON kv (space, key);
    ",
},
Migration {
    version: 3,
    name: "job lease owners",
    // Who holds a lease: a process restarting on its own data reclaims its previous
    // incarnation's leases at once instead of waiting them out (`Tx::release_leases`).
    sql: "ALTER TABLE jobs ADD COLUMN lease_owner TEXT;",
}];

pub(crate) static POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "kv and jobs",
        sql: r#"
        CREATE TABLE kv (
            space TEXT COLLATE "C" NOT NULL,
            key BYTEA NOT NULL,
            value BYTEA NOT NULL,
            PRIMARY KEY (space, key)
        );
        CREATE TABLE jobs (
            id BIGSERIAL PRIMARY KEY,
            kind TEXT NOT NULL,
            payload BYTEA NOT NULL,
            run_at BIGINT NOT NULL,
            attempts INT NOT NULL DEFAULT 0,
            lease_until BIGINT,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX jobs_run_at ON jobs (run_at);
        -- Never holds rows: retried write transactions LOCK it (which, unlike a SELECT, takes
        -- no snapshot) so that retries serialize among themselves and always make progress.
        CREATE TABLE write_lock (id INT);
    "#,
    },
    Migration {
        version: 2,
        name: "kv values out of the key b-tree",
        // Nothing to do: PostgreSQL keeps rows in the heap, out of the primary-key index, already.
        sql: "SELECT 1",
    },
    Migration {
        version: 3,
        name: "job lease owners",
        sql: "ALTER TABLE jobs ADD COLUMN lease_owner TEXT;",
    },
];

const fn latest(list: &[Migration]) -> i64 {
    match list.last() {
        Some(m) => m.version,
        None => 0,
    }
}

/// Schema version an SQLite database has after opening it with this build.
pub const LATEST_SQLITE_VERSION: i64 = latest(SQLITE);
/// Schema version a PostgreSQL database has after opening it with this build.
pub const LATEST_POSTGRES_VERSION: i64 = latest(POSTGRES);

/// The migrations to apply to a database at `current`, checking the list is well formed.
pub(crate) fn pending(list: &[Migration], current: i64) -> Result<&[Migration], StoreError> {
    for (expected, m) in (1..).zip(list) {
        if m.version != expected {
            return Err(StoreError::Backend(format!(
                "migration list malformed: expected version {expected}, found {} ({})",
                m.version, m.name
            )));
        }
    }
    let supported = latest(list);
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    let done = usize::try_from(current.max(0)).unwrap_or(usize::MAX);
    Ok(list.get(done..).unwrap_or(&[]))
}
