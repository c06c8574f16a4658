//! A contact history in PostgreSQL, shared by any number of processes
//! deciding for the same profiles at once (SPEC §9): see [`PostgresHistory`].

mod schema;
mod write;

pub use write::Locking;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::Id;
use postgres::{Client, NoTls, Row, Statement};

use super::{
    Basis, Commit, History, HistoryError, JourneyState, JourneyStatus, LastDecision, Outcome,
    ProfileSnapshot, Record, Update,
};
use crate::rules::Category;
use crate::value::Timestamp;

/// Everything the snapshots of the profiles `$1` read, as one statement:
/// rows of a profile (`p`) tagged by `kind` (0 a per-action counter, 1 a
/// send after `since`, 2 a journey state, 3 the last-decided instant, 4 a
/// send of the last decision when a decision at `now` replays it), in
/// recording order (`seq`) within a kind (and by name where that is
/// equal, so that two reads of the same rows agree).
///
/// The last decision's sends are those at its instant that end the
/// profile's records (see [`LastDecision`]): after the last record of any
/// other instant.
const SNAPSHOTS: &str = "
WITH last AS (SELECT profile_id, last_decided_us FROM nextbest_profiles
               WHERE profile_id = ANY($1::text[]) AND last_decided_us IS NOT NULL)
SELECT profile_id AS p, 0 AS kind, action AS s1, NULL::text AS s2, NULL::text AS s3,
       NULL::text AS s4, NULL::text AS s5, times_sent AS i1, NULL::bigint AS i2,
       last_sent_us AS t1, NULL::bigint AS t2, NULL::boolean AS b, 0::bigint AS seq
  FROM nextbest_actions WHERE profile_id = ANY($1::text[])
UNION ALL
SELECT profile_id, 1, channel, category, NULL, NULL, NULL, NULL, NULL, at_us, NULL, NULL, seq
  FROM nextbest_records
 WHERE profile_id = ANY($1::text[]) AND outcome = 'sent' AND at_us > $2
UNION ALL
SELECT profile_id, 2, journey, status, NULL, NULL, NULL, enrolment, done, entered_at_us,
       left_at_us, tried, 0
  FROM nextbest_journeys WHERE profile_id = ANY($1::text[])
UNION ALL
SELECT profile_id, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, last_decided_us, NULL, NULL, 0
  FROM last
UNION ALL
SELECT r.profile_id, 4, r.action, r.category, r.key, r.journey, r.channel, r.step, NULL,
       r.at_us, r.send_at_us, NULL, r.seq
  FROM nextbest_records r JOIN last ON r.profile_id = last.profile_id
 WHERE last.last_decided_us >= $3
   AND r.outcome = 'sent' AND r.at_us = last.last_decided_us
   AND r.seq > COALESCE((SELECT max(o.seq) FROM nextbest_records o
                          WHERE o.profile_id = r.profile_id
                            AND o.at_us <> last.last_decided_us), 0)
ORDER BY kind, seq, s1
";

/// Every record of a profile, in recording order.
const RECORDS: &str = "
SELECT action, channel, category, outcome, at_us, send_at_us, key, journey, step
  FROM nextbest_records WHERE profile_id = $1 ORDER BY seq
";

/// A contact history in a PostgreSQL database, shared by any number of
/// processes deciding for the same profiles at once (SPEC §9). Several
/// handles (in one process or many) may share one database; each holds one
/// connection, used by one call at a time.
///
/// A [`snapshots`](History::snapshots) read is one statement (one round trip) at
/// READ COMMITTED, without locks: one statement sees one snapshot of the
/// database, so its counters, sends, journeys and last decision agree with
/// each other. A [`commit`](History::commit) is one transaction: it takes
/// an advisory transaction lock per profile it writes (in one order for
/// every writer, so two never deadlock), compares each profile's
/// last-decided instant with the [`Basis`] its snapshot saw, and either
/// rolls back and answers [`Commit::Conflict`] or writes the records,
/// counters, journey states and last-decided instants and commits. Another
/// writer that decided in between is seen: the comparison runs after the
/// lock, in a statement of its own, which at READ COMMITTED sees every
/// transaction committed before it began.
///
/// The locks are advisory locks by default. A Citus cluster does not share
/// those between its nodes: there, [`Locking::Rows`] locks each profile's
/// row instead (inserted where absent, then `SELECT … FOR UPDATE` in the
/// order of the profile ids). Both are tested against PostgreSQL here; Citus
/// itself is not.
///
/// Analysts read the view `nextbest_contacts`: one row per record, with
/// `profile_id`, `key`, `action`, `channel`, `category`, `outcome`
/// (`sent`, `held_out` or `skipped`), `at` and `send_at` (`timestamptz`),
/// `journey`, `step` and `seq` (the recording order).
///
/// The client is blocking (the [`History`] trait is). From async code, run
/// the calls on a blocking thread, for example with tokio's
/// `spawn_blocking`; calling it on an async worker thread blocks that
/// thread, and the `postgres` client, which runs a runtime of its own,
/// panics inside another tokio runtime:
///
/// ```no_run
/// # async fn decide() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # mod tokio { pub mod task { pub async fn spawn_blocking<R>(f: impl FnOnce() -> R) -> Result<R, std::convert::Infallible> { Ok(f()) } } }
/// use nextbest::history::{History, PostgresHistory};
/// use nextbest::Timestamp;
/// let url = "host=/run/postgresql user=nextbest dbname=decisions";
/// let snapshot = tokio::task::spawn_blocking(move || {
///     let history = PostgresHistory::connect(url)?;
///     history.snapshot("c-1", Timestamp::from_micros(0), Timestamp::from_micros(0))
/// })
/// .await??;
/// # let _ = snapshot;
/// # Ok(())
/// # }
/// ```
///
/// ```no_run
/// use nextbest::history::{History, PostgresHistory};
/// let history = PostgresHistory::connect("postgresql://nextbest@db.internal/decisions")?;
/// assert_eq!(history.times_sent("c-1", "churn_email")?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresHistory {
    client: Mutex<Client>,
    locking: Locking,
    snapshots: Statement,
    records: Statement,
    writes: write::Statements,
}

impl fmt::Debug for PostgresHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresHistory").finish_non_exhaustive()
    }
}

impl PostgresHistory {
    /// The version of the tables this build creates, reads and writes.
    pub const SCHEMA_VERSION: i32 = schema::SCHEMA_VERSION;

    /// Connects (without TLS) to the database of `params`, a libpq-style
    /// connection string (`host=… user=… dbname=…`) or a
    /// `postgresql://` URL, and creates its tables if it has none.
    ///
    /// # Errors
    /// [`HistoryError::Postgres`] when the server cannot be reached or
    /// refuses; [`HistoryError::SchemaVersion`] when the database holds
    /// tables of another version (it is left unchanged).
    pub fn connect(params: &str) -> Result<PostgresHistory, HistoryError> {
        PostgresHistory::with_client(Client::connect(params, NoTls)?)
    }

    /// Connects as [`connect`](PostgresHistory::connect) does, but changes
    /// nothing: `None` when the database holds no nextbest tables (a dry
    /// run decides from an empty history then, and creates none).
    ///
    /// # Errors
    /// As [`connect`](PostgresHistory::connect).
    pub fn connect_unchanged(params: &str) -> Result<Option<PostgresHistory>, HistoryError> {
        let mut client = Client::connect(params, NoTls)?;
        if !schema::exists(&mut client)? {
            return Ok(None);
        }
        PostgresHistory::prepared(client).map(Some)
    }

    /// A history over a connection the caller opened (with TLS, say);
    /// creates the tables if the database has none.
    ///
    /// # Errors
    /// As [`connect`](PostgresHistory::connect).
    pub fn with_client(mut client: Client) -> Result<PostgresHistory, HistoryError> {
        schema::ensure(&mut client)?;
        PostgresHistory::prepared(client)
    }

    /// A history over `client`, whose database has the tables.
    fn prepared(mut client: Client) -> Result<PostgresHistory, HistoryError> {
        let snapshots = client.prepare(SNAPSHOTS)?;
        let records = client.prepare(RECORDS)?;
        let writes = write::Statements::prepare(&mut client)?;
        Ok(PostgresHistory {
            client: Mutex::new(client),
            locking: Locking::default(),
            snapshots,
            records,
            writes,
        })
    }

    /// This history, its commits locking their profiles as `locking` says
    /// (advisory locks unless told otherwise).
    ///
    /// ```no_run
    /// use nextbest::history::{Locking, PostgresHistory};
    /// let on_citus = PostgresHistory::connect("postgresql://nextbest@coordinator/decisions")?
    ///     .locking(Locking::Rows);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn locking(mut self, locking: Locking) -> Self {
        self.locking = locking;
        self
    }

    /// Every record of `profile`, in recording order.
    ///
    /// # Errors
    /// The database cannot be read, or holds a row this build cannot read.
    pub fn records(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        let rows = self.client().query(&self.records, &[&profile])?;
        (rows.iter())
            .map(|row| {
                Ok(Record {
                    profile: profile.into(),
                    action: row.try_get::<_, &str>("action")?.into(),
                    channel: row.try_get::<_, &str>("channel")?.into(),
                    category: category(row.try_get("category")?)?,
                    outcome: outcome(row.try_get("outcome")?)?,
                    at: Timestamp::from_micros(row.try_get("at_us")?),
                    send_at: Timestamp::from_micros(row.try_get("send_at_us")?),
                    key: row.try_get::<_, &str>("key")?.into(),
                    journey: step(row.try_get("journey")?, row.try_get("step")?)?,
                })
            })
            .collect()
    }

    /// The snapshots of `profiles`, in their order, read by one statement.
    fn read_snapshots(
        &self,
        profiles: &[&str],
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<ProfileSnapshot>, HistoryError> {
        let rows = self.client().query(
            &self.snapshots,
            &[&profiles, &since.as_micros(), &now.as_micros()],
        )?;
        // Per distinct profile: its snapshot and its last decision's sends.
        let mut read: HashMap<&str, (ProfileSnapshot, Vec<Record>)> = (profiles.iter())
            .map(|profile| (*profile, (ProfileSnapshot::new(profile, since), Vec::new())))
            .collect();
        for row in &rows {
            let profile: &str = row.try_get("p")?;
            let (snapshot, replayed) = read
                .get_mut(profile)
                .ok_or_else(|| unreadable("snapshot of a profile not asked for", profile))?;
            read_row(row, snapshot, replayed)?;
        }
        for (snapshot, replayed) in read.values_mut() {
            // A decision at `now` replays the last one, which may have sent
            // nothing (and so brought no rows of its own).
            if let Some(at) = snapshot.last_decided_at().filter(|at| now <= *at) {
                let sent = std::mem::take(replayed);
                snapshot.set_last_decision(LastDecision { at, sent });
            }
        }
        // In the order asked; a profile asked twice gets a copy each time
        // but the last.
        let mut remaining: HashMap<&str, usize> = HashMap::with_capacity(read.len());
        for profile in profiles {
            *remaining.entry(profile).or_default() += 1;
        }
        let mut snapshots = Vec::with_capacity(profiles.len());
        for profile in profiles {
            let left = remaining.entry(profile).or_default();
            *left = left.saturating_sub(1);
            let snapshot = if *left > 0 {
                read.get(profile).map(|(snapshot, _)| snapshot.clone())
            } else {
                read.remove(profile).map(|(snapshot, _)| snapshot)
            };
            snapshots.push(snapshot.ok_or_else(|| HistoryError::Store("a snapshot lost".into()))?);
        }
        Ok(snapshots)
    }

    /// The connection. A call that panicked while holding it left no
    /// transaction open (an open one rolls back when dropped), so the
    /// connection is still usable.
    fn client(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl History for PostgresHistory {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let mut snapshots = self.read_snapshots(&[profile], since, now)?;
        snapshots
            .pop()
            .ok_or_else(|| HistoryError::Store("no snapshot read".into()))
    }

    /// One statement for all of `profiles`: one round trip, one snapshot
    /// of the database. When it fails, each profile is read on its own, so
    /// that each answer carries its own read's error.
    fn snapshots(
        &self,
        profiles: &[&str],
        since: Timestamp,
        now: Timestamp,
    ) -> Vec<Result<ProfileSnapshot, HistoryError>> {
        match self.read_snapshots(profiles, since, now) {
            Ok(snapshots) => snapshots.into_iter().map(Ok).collect(),
            Err(_) => (profiles.iter())
                .map(|profile| self.snapshot(profile, since, now))
                .collect(),
        }
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        if update.is_empty() {
            return Ok(Commit::Committed);
        }
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let mut txn = client.transaction()?;
        // Every profile written, not only those of the basis: an
        // unconditional write then still waits for a conditional one in
        // flight instead of slipping between its check and its writes.
        let profiles: BTreeSet<&str> = (update.basis.iter().map(|b| b.profile.as_str()))
            .chain(update.records.iter().map(|r| r.profile.as_str()))
            .chain(update.journeys.iter().map(|j| j.profile.as_str()))
            .chain(update.decided.iter().map(|(p, _)| p.as_str()))
            .collect();
        let profiles: Vec<&str> = profiles.into_iter().collect();
        self.writes.lock(&mut txn, self.locking, &profiles)?;
        let conflicts = self.writes.conflicts(&mut txn, &update.basis)?;
        if !conflicts.is_empty() {
            txn.rollback()?;
            return Ok(Commit::Conflict(conflicts));
        }
        self.writes.write(&mut txn, update)?;
        txn.commit()?;
        Ok(Commit::Committed)
    }
}

/// Adds one row of [`SNAPSHOT`] to `snapshot` (or, for a send of the last
/// decision, to `replayed`).
fn read_row(
    row: &Row,
    snapshot: &mut ProfileSnapshot,
    replayed: &mut Vec<Record>,
) -> Result<(), HistoryError> {
    let kind: i32 = row.try_get("kind")?;
    let text = |column: &str| -> Result<&str, HistoryError> {
        Ok(row.try_get::<_, Option<&str>>(column)?.unwrap_or_default())
    };
    let at = Timestamp::from_micros(row.try_get::<_, Option<i64>>("t1")?.unwrap_or_default());
    match kind {
        0 => {
            let times: i64 = row.try_get("i1")?;
            let times = u32::try_from(times.max(0)).unwrap_or(u32::MAX);
            snapshot.set_sends_of(text("s1")?, times, at);
        }
        1 => snapshot.add_send(at, text("s1")?, category(text("s2")?)?),
        2 => {
            let left_at: Option<i64> = row.try_get("t2")?;
            let left_at = Timestamp::from_micros(left_at.unwrap_or_default());
            let status = match text("s2")? {
                "active" => JourneyStatus::Active,
                "exited" => JourneyStatus::Exited(left_at),
                "completed" => JourneyStatus::Completed(left_at),
                other => return Err(unreadable("journey status", other)),
            };
            let state = JourneyState {
                entered_at: at,
                enrolment: count(row.try_get("i1")?)?,
                done: count(row.try_get("i2")?)?,
                tried: row.try_get("b")?,
                status,
            };
            snapshot.set_journey(text("s1")?, state);
        }
        3 => snapshot.set_last_decided_at(at),
        4 => {
            let send_at: i64 = row.try_get("t2")?;
            let record = Record {
                profile: snapshot.profile().into(),
                action: text("s1")?.into(),
                channel: text("s5")?.into(),
                category: category(text("s2")?)?,
                outcome: Outcome::Sent,
                at,
                send_at: Timestamp::from_micros(send_at),
                key: text("s3")?.into(),
                journey: step(row.try_get("s4")?, row.try_get("i1")?)?,
            };
            replayed.push(record);
        }
        other => return Err(unreadable("snapshot row kind", &other.to_string())),
    }
    Ok(())
}

/// A record's journey and step, stored in two nullable columns.
fn step(journey: Option<&str>, step: Option<i64>) -> Result<Option<(Id, u32)>, HistoryError> {
    match (journey, step) {
        (Some(journey), Some(step)) => Ok(Some((journey.into(), count(step)?))),
        _ => Ok(None),
    }
}

/// What a [`HistoryError::Postgres`] says: the server's message when the
/// server refused (the client's own text for it is only "db error").
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(constraint) = db.constraint() {
                text.push_str(&format!(" [constraint {constraint}]"));
            }
            text
        }
        None => error.to_string(),
    }
}

/// The error for a value the tables should not hold (changed by hand?).
fn unreadable(what: &str, value: &str) -> HistoryError {
    HistoryError::Store(format!(
        "the PostgreSQL history holds a {what} this nextbest cannot read: {value:?}"
    ))
}

fn category(name: &str) -> Result<Category, HistoryError> {
    Category::from_name(name).ok_or_else(|| unreadable("category", name))
}

fn outcome(name: &str) -> Result<Outcome, HistoryError> {
    Outcome::from_name(name).ok_or_else(|| unreadable("outcome", name))
}

/// A step, enrolment or count, stored as a `bigint`.
fn count(value: i64) -> Result<u32, HistoryError> {
    u32::try_from(value).map_err(|_| unreadable("count", &value.to_string()))
}

/// The profiles of `basis`, in its order, that `moved` names.
fn in_basis_order(basis: &[Basis], moved: &[String]) -> Vec<Id> {
    (basis.iter())
        .filter(|seen| moved.iter().any(|m| *m == seen.profile))
        .map(|seen| seen.profile.clone())
        .collect()
}
