//! The statements of a commit: lock the profiles, compare their bases,
//! write. The writes are one statement (data-modifying `WITH` clauses) of
//! arrays, so that a commit costs the same few round trips however many
//! decisions it records.

use std::collections::BTreeMap;

use crate::Id;
use postgres::{Client, Statement, Transaction};

use super::in_basis_order;
use crate::history::{Basis, HistoryError, JourneyStatus, Outcome, Update};

/// Takes an advisory transaction lock per profile, in the order of their
/// hashes: every writer takes them in that order, so no two deadlock (two
/// profiles of the same hash share a lock, which costs only concurrency).
/// `OFFSET 0` keeps the sorted subquery from being flattened, so that the
/// locks are taken row by row in that order.
const LOCK: &str = "
SELECT pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(p, 0) AS h FROM unnest($1::text[]) AS p
        ORDER BY h OFFSET 0) AS locks
";

/// Row locks instead (for Citus, whose nodes do not share advisory locks):
/// first the profiles' rows are made where absent (a new row is its
/// inserter's until it commits, and a second inserter waits for that), then,
/// in a statement of its own that sees them all, every row is locked, in
/// the order of the profile ids, the same for every writer.
const INSERT_ABSENT: &str = "
INSERT INTO nextbest_profiles (profile_id, last_decided_us)
SELECT p, NULL FROM unnest($1::text[]) AS p ORDER BY p
ON CONFLICT (profile_id) DO NOTHING
";

const LOCK_ROWS: &str = "
SELECT profile_id FROM nextbest_profiles WHERE profile_id = ANY($1::text[])
 ORDER BY profile_id FOR UPDATE
";

/// The profiles whose last-decided instant is not the one their basis saw.
const CONFLICTS: &str = "
SELECT b.p FROM unnest($1::text[], $2::bigint[]) AS b(p, at)
  LEFT JOIN nextbest_profiles t ON t.profile_id = b.p
 WHERE t.last_decided_us IS DISTINCT FROM b.at
";

/// Everything an update writes. Each array holds distinct keys (merged
/// beforehand), as `ON CONFLICT DO UPDATE` cannot touch a row twice in one
/// statement; records go in in the update's order, which their `seq` keeps.
const WRITE: &str = "
WITH records AS (
    INSERT INTO nextbest_records
        (profile_id, key, action, channel, category, outcome, at_us, send_at_us, journey, step)
    SELECT p, k, a, c, cat, o, at, sa, j, s
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::bigint[], $8::bigint[], $9::text[], $10::bigint[])
           WITH ORDINALITY AS u(p, k, a, c, cat, o, at, sa, j, s, n)
     ORDER BY n
), actions AS (
    INSERT INTO nextbest_actions AS t (profile_id, action, times_sent, last_sent_us)
    SELECT * FROM unnest($11::text[], $12::text[], $13::bigint[], $14::bigint[])
    ON CONFLICT (profile_id, action) DO UPDATE
       SET times_sent = t.times_sent + excluded.times_sent,
           last_sent_us = GREATEST(t.last_sent_us, excluded.last_sent_us)
), journeys AS (
    INSERT INTO nextbest_journeys AS t
        (profile_id, journey, entered_at_us, enrolment, done, tried, status, left_at_us)
    SELECT * FROM unnest($15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[],
                         $20::boolean[], $21::text[], $22::bigint[])
    ON CONFLICT (profile_id, journey) DO UPDATE
       SET entered_at_us = excluded.entered_at_us, enrolment = excluded.enrolment,
           done = excluded.done, tried = excluded.tried, status = excluded.status,
           left_at_us = excluded.left_at_us
)
INSERT INTO nextbest_profiles AS t (profile_id, last_decided_us)
SELECT * FROM unnest($23::text[], $24::bigint[])
ON CONFLICT (profile_id) DO UPDATE
   SET last_decided_us = GREATEST(t.last_decided_us, excluded.last_decided_us)
";

/// How a commit keeps other writers of its profiles out until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Locking {
    /// An advisory transaction lock per profile (plain PostgreSQL).
    #[default]
    Advisory,
    /// A lock on each profile's row of `nextbest_profiles`, made where
    /// absent: for clusters whose nodes do not share advisory locks, such
    /// as Citus (with the tables distributed by `profile_id`).
    Rows,
}

/// The prepared statements of a commit.
pub(super) struct Statements {
    lock: Statement,
    insert_absent: Statement,
    lock_rows: Statement,
    conflicts: Statement,
    write: Statement,
}

impl Statements {
    pub(super) fn prepare(client: &mut Client) -> Result<Statements, HistoryError> {
        Ok(Statements {
            lock: client.prepare(LOCK)?,
            insert_absent: client.prepare(INSERT_ABSENT)?,
            lock_rows: client.prepare(LOCK_ROWS)?,
            conflicts: client.prepare(CONFLICTS)?,
            write: client.prepare(WRITE)?,
        })
    }

    /// Locks `profiles` (sorted, distinct) for the rest of `txn`.
    pub(super) fn lock(
        &self,
        txn: &mut Transaction<'_>,
        locking: Locking,
        profiles: &[&str],
    ) -> Result<(), HistoryError> {
        match locking {
            Locking::Advisory => {
                txn.execute(&self.lock, &[&profiles])?;
            }
            Locking::Rows => {
                txn.execute(&self.insert_absent, &[&profiles])?;
                txn.query(&self.lock_rows, &[&profiles])?;
            }
        }
        Ok(())
    }

    /// The profiles of `basis` (in its order) decided since it was read.
    pub(super) fn conflicts(
        &self,
        txn: &mut Transaction<'_>,
        basis: &[Basis],
    ) -> Result<Vec<Id>, HistoryError> {
        if basis.is_empty() {
            return Ok(Vec::new());
        }
        let profiles: Vec<&str> = basis.iter().map(|b| b.profile.as_str()).collect();
        let instants: Vec<Option<i64>> = (basis.iter())
            .map(|b| b.last_decided_at.map(|at| at.as_micros()))
            .collect();
        let rows = txn.query(&self.conflicts, &[&profiles, &instants])?;
        let moved = (rows.iter())
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<String>, _>>()?;
        Ok(in_basis_order(basis, &moved))
    }

    /// Writes everything of `update` inside `txn`.
    pub(super) fn write(
        &self,
        txn: &mut Transaction<'_>,
        update: &Update,
    ) -> Result<(), HistoryError> {
        let records = &update.records;
        let column = |f: fn(&crate::history::Record) -> &str| -> Vec<&str> {
            records.iter().map(f).collect()
        };
        let (profiles, keys) = (column(|r| &r.profile), column(|r| &r.key));
        let (actions, channels) = (column(|r| &r.action), column(|r| &r.channel));
        let categories = column(|r| r.category.name());
        let outcomes = column(|r| r.outcome.name());
        let ats: Vec<i64> = records.iter().map(|r| r.at.as_micros()).collect();
        let send_ats: Vec<i64> = records.iter().map(|r| r.send_at.as_micros()).collect();
        let journeys: Vec<Option<&str>> = (records.iter())
            .map(|r| r.journey.as_ref().map(|(j, _)| j.as_str()))
            .collect();
        let steps: Vec<Option<i64>> = (records.iter())
            .map(|r| r.journey.as_ref().map(|(_, step)| i64::from(*step)))
            .collect();

        // Per (profile, action) sent: how many sends, and the latest.
        let mut sends: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
        for record in records.iter().filter(|r| r.outcome == Outcome::Sent) {
            let at = record.at.as_micros();
            let entry = sends
                .entry((&record.profile, &record.action))
                .or_insert((0, at));
            *entry = (entry.0.saturating_add(1), entry.1.max(at));
        }
        let send_profiles: Vec<&str> = sends.keys().map(|(p, _)| *p).collect();
        let send_actions: Vec<&str> = sends.keys().map(|(_, a)| *a).collect();
        let send_counts: Vec<i64> = sends.values().map(|(n, _)| *n).collect();
        let send_lasts: Vec<i64> = sends.values().map(|(_, at)| *at).collect();

        // Per (profile, journey): the last state of the update wins.
        let mut states = BTreeMap::new();
        for change in &update.journeys {
            states.insert(
                (change.profile.as_str(), change.journey.as_str()),
                change.state,
            );
        }
        let state_profiles: Vec<&str> = states.keys().map(|(p, _)| *p).collect();
        let state_journeys: Vec<&str> = states.keys().map(|(_, j)| *j).collect();
        let entered: Vec<i64> = (states.values())
            .map(|s| s.entered_at.as_micros())
            .collect();
        let enrolments: Vec<i64> = states.values().map(|s| i64::from(s.enrolment)).collect();
        let done: Vec<i64> = states.values().map(|s| i64::from(s.done)).collect();
        let tried: Vec<bool> = states.values().map(|s| s.tried).collect();
        let status: Vec<&str> = states.values().map(|s| s.status.name()).collect();
        let left: Vec<Option<i64>> = (states.values())
            .map(|s| match s.status {
                JourneyStatus::Active => None,
                JourneyStatus::Exited(at) | JourneyStatus::Completed(at) => Some(at.as_micros()),
            })
            .collect();

        // Per profile: the latest instant of its records and decisions.
        let mut decided: BTreeMap<&str, i64> = BTreeMap::new();
        let instants = (records.iter())
            .map(|r| (r.profile.as_str(), r.at))
            .chain(update.decided.iter().map(|(p, at)| (p.as_str(), *at)));
        for (profile, at) in instants {
            let latest = decided.entry(profile).or_insert(at.as_micros());
            *latest = (*latest).max(at.as_micros());
        }
        let decided_profiles: Vec<&str> = decided.keys().copied().collect();
        let decided_ats: Vec<i64> = decided.values().copied().collect();

        txn.execute(
            &self.write,
            &[
                &profiles,
                &keys,
                &actions,
                &channels,
                &categories,
                &outcomes,
                &ats,
                &send_ats,
                &journeys,
                &steps,
                &send_profiles,
                &send_actions,
                &send_counts,
                &send_lasts,
                &state_profiles,
                &state_journeys,
                &entered,
                &enrolments,
                &done,
                &tried,
                &status,
                &left,
                &decided_profiles,
                &decided_ats,
            ],
        )?;
        Ok(())
    }
}
