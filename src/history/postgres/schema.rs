//! The tables of the PostgreSQL history, created on first use, and their
//! version.
//!
//! Instants are stored as microseconds since the Unix epoch (`bigint`), the
//! engine's own [`Timestamp`](crate::Timestamp): every instant the engine
//! can hold round-trips exactly, including the open ends of its windows,
//! which `timestamptz` cannot hold. Analysts read `timestamptz` columns
//! from the view `nextbest_contacts` (SPEC §9).

use postgres::Client;

use crate::history::HistoryError;

/// The version of the tables this build creates, reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// Serialises the creation of the tables by replicas that start together:
/// `CREATE TABLE IF NOT EXISTS` alone races on the system catalogs.
const SETUP: &str = "
SELECT pg_advisory_xact_lock(hashtextextended('nextbest_schema', 0));
CREATE TABLE IF NOT EXISTS nextbest_schema_version (version integer NOT NULL);
";

/// Version 1. `nextbest_records.seq` is the recording order: per profile
/// commits are serialised by a lock, so it is also commit order there.
const CREATE: &str = "
-- last_decided_us is NULL while a profile was never decided: its row then
-- only exists for commits that lock rows (Locking::Rows) to lock.
CREATE TABLE nextbest_profiles (
    profile_id text PRIMARY KEY,
    last_decided_us bigint
);
CREATE TABLE nextbest_records (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id text NOT NULL,
    key text NOT NULL,
    action text NOT NULL,
    channel text NOT NULL,
    category text NOT NULL CHECK (category IN ('marketing', 'transactional')),
    outcome text NOT NULL CHECK (outcome IN ('sent', 'held_out', 'skipped')),
    at_us bigint NOT NULL,
    send_at_us bigint NOT NULL,
    journey text,
    step bigint
);
-- A message is sent at most once: the engine's idempotency keys are unique
-- among a profile's sends. Not among all records: a holdout records the key
-- of the send it withheld, which a later decision may send.
CREATE UNIQUE INDEX nextbest_records_sent_key
    ON nextbest_records (profile_id, key) WHERE outcome = 'sent';
CREATE INDEX nextbest_records_profile_at ON nextbest_records (profile_id, at_us, seq);
CREATE TABLE nextbest_actions (
    profile_id text NOT NULL,
    action text NOT NULL,
    times_sent bigint NOT NULL,
    last_sent_us bigint NOT NULL,
    PRIMARY KEY (profile_id, action)
);
CREATE TABLE nextbest_journeys (
    profile_id text NOT NULL,
    journey text NOT NULL,
    entered_at_us bigint NOT NULL,
    enrolment bigint NOT NULL,
    done bigint NOT NULL,
    tried boolean NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'exited', 'completed')),
    left_at_us bigint,
    PRIMARY KEY (profile_id, journey)
);
CREATE VIEW nextbest_contacts AS
SELECT profile_id, key, action, channel, category, outcome,
       TIMESTAMPTZ 'epoch' + at_us * INTERVAL '1 microsecond' AS at,
       TIMESTAMPTZ 'epoch' + send_at_us * INTERVAL '1 microsecond' AS send_at,
       journey, step, seq
FROM nextbest_records;
INSERT INTO nextbest_schema_version (version) VALUES (1);
";

/// Whether the database holds nextbest tables, changing nothing: their
/// version is checked when it does.
///
/// # Errors
/// As [`ensure`].
pub fn exists(client: &mut Client) -> Result<bool, HistoryError> {
    let found: Option<String> = client
        .query_one("SELECT to_regclass('nextbest_schema_version')::text", &[])?
        .try_get(0)?;
    if found.is_none() {
        return Ok(false);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM nextbest_schema_version", &[])?
        .try_get(0)?;
    match version {
        None => Ok(false),
        Some(SCHEMA_VERSION) => Ok(true),
        Some(found) => Err(HistoryError::SchemaVersion {
            found,
            expected: SCHEMA_VERSION,
        }),
    }
}

/// Creates the tables if the database has none, or checks their version.
///
/// # Errors
/// The database cannot be read or written ([`HistoryError::Postgres`]), or
/// its tables are of another version ([`HistoryError::SchemaVersion`]).
pub fn ensure(client: &mut Client) -> Result<(), HistoryError> {
    let mut txn = client.transaction()?;
    txn.batch_execute(SETUP)?;
    let found: Option<i32> = txn
        .query_one("SELECT max(version) FROM nextbest_schema_version", &[])?
        .try_get(0)?;
    match found {
        None => txn.batch_execute(CREATE)?,
        Some(SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(HistoryError::SchemaVersion {
                found,
                expected: SCHEMA_VERSION,
            });
        }
    }
    txn.commit()?;
    Ok(())
}
