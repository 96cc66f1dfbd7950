//! Versioned schema migrations, applied in order at start, each in its own transaction.
//! Invariant: a migration, once released, is never edited; a change is a new entry.

use super::{Conn, DbError, Val, transaction};

/// Migration `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &["CREATE TABLE packages (
        sha256 TEXT PRIMARY KEY,
        payload_sha256 TEXT NOT NULL,
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        target TEXT NOT NULL,
        size BIGINT NOT NULL,
        meta_len BIGINT NOT NULL,
        created BIGINT NOT NULL,
        UNIQUE (name, target, version)
    );
    CREATE TABLE deltas (
        to_sha256 TEXT NOT NULL,
        from_payload_sha256 TEXT NOT NULL,
        from_version BIGINT NOT NULL,
        size BIGINT NOT NULL,
        PRIMARY KEY (to_sha256, from_payload_sha256)
    );
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        labels TEXT NOT NULL,
        token_sha256 TEXT NOT NULL,
        model TEXT NOT NULL,
        version BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        last_seen BIGINT NOT NULL,
        enrolled BIGINT NOT NULL
    );
    CREATE TABLE rollouts (
        id BIGINT PRIMARY KEY,
        model TEXT NOT NULL,
        version BIGINT NOT NULL,
        target TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        stages TEXT NOT NULL,
        gates TEXT NOT NULL,
        state TEXT NOT NULL,
        stage BIGINT NOT NULL,
        stage_started BIGINT NOT NULL,
        halt TEXT,
        created BIGINT NOT NULL
    );
    CREATE TABLE assignments (
        rollout BIGINT NOT NULL,
        device TEXT NOT NULL,
        from_version BIGINT NOT NULL,
        from_sha256 TEXT NOT NULL,
        offered BIGINT NOT NULL,
        PRIMARY KEY (rollout, device)
    );
    CREATE TABLE reports (
        rollout BIGINT NOT NULL,
        device TEXT NOT NULL,
        version BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        stage BIGINT NOT NULL,
        body TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (rollout, device)
    );
    CREATE TABLE samples (
        rollout BIGINT NOT NULL,
        device TEXT NOT NULL,
        side TEXT NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL,
        hist TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (rollout, device, side)
    );"];

/// Brings the schema to the newest version.
pub fn run(c: &mut dyn Conn) -> Result<(), DbError> {
    c.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let have = c.query("SELECT MAX(version) FROM schema_version", &[])?;
    let have = have.first().and_then(|r| r.first()).map_or(0, Val::int) as usize;
    if have > MIGRATIONS.len() {
        return Err(DbError(format!(
            "the database has schema version {have}, newer than this server's {}: run a newer mote",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
        let version = i as i64 + 1;
        transaction(c, |c| {
            c.batch(sql)?;
            c.execute("INSERT INTO schema_version (version) VALUES ($1)", &[Val::Int(version)])?;
            Ok(())
        })?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}
