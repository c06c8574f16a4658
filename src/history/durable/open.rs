//! Opening a store: creating it, refusing a file that is not one, and
//! upgrading an older format in place.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use redb::{Database, DatabaseError, StorageError, TableDefinition, TableError};

use super::contain::contain;
use super::names::NAMES;
use super::upgrade::{
    ACTIONS, BY_TIME, JOURNEYS, LAST_DECIDED, RECORD_STEPS, RECORDS, SENDS, upgrade,
};
use super::{
    COUNTERS, DurableHistory, FORMAT, Fault, META, PROFILES, RECORDS_HELD, View, begin_write,
    failure,
};
use crate::history::HistoryError;

impl DurableHistory {
    /// Opens the store at `path`, creating it if the file is missing, empty,
    /// or a redb database without any table.
    ///
    /// A new store is built and committed under a temporary name in the same
    /// directory, then renamed into place: a process killed while creating
    /// it, or a full disk, leaves no store (and a temporary file the next
    /// creation removes), never a file that every later open refuses.
    ///
    /// # Errors
    /// [`HistoryError::InUse`] if another process (or another handle in this
    /// one) has it open; [`HistoryError::NotAStore`] if the file is not a
    /// nextbest history store; [`HistoryError::Format`] if it was written by a
    /// newer version; [`HistoryError::Io`] if it cannot be read or created.
    ///
    /// ```
    /// use nextbest::history::{DurableHistory, History};
    /// let dir = std::env::temp_dir().join(format!("nextbest-open-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let history = DurableHistory::open(dir.join("history.redb"))?;
    /// assert_eq!(history.times_sent("c-1", "churn_email")?, 0);
    /// # drop(history); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<DurableHistory, HistoryError> {
        let path = path.as_ref();
        if is_new(path)? {
            return create(path);
        }
        let history = contain(path, || {
            DurableHistory::from_database(path.to_path_buf(), open_checked(path)?)
        })??;
        remove_leftovers(path);
        Ok(history)
    }

    /// Opens a store over any redb storage backend, for tests that inject
    /// failures; `path` only names the store in errors.
    #[doc(hidden)]
    pub fn open_backend(
        path: impl Into<PathBuf>,
        backend: impl redb::StorageBackend,
    ) -> Result<DurableHistory, HistoryError> {
        let path = path.into();
        let db = builder()
            .create_with_backend(backend)
            .map_err(|e| open_error(&path, e))?;
        DurableHistory::from_database(path, db)
    }

    /// Opens the existing store at `path` to read it, changing nothing:
    /// `Ok(None)` when there is no store yet (no file, an empty file, or a
    /// redb database without tables), where [`DurableHistory::open`] would
    /// create one; [`HistoryError::NeedsUpgrade`] for a store of an older
    /// format, which `open` would upgrade in place. For dry runs.
    ///
    /// # Errors
    /// As [`DurableHistory::open`], and [`HistoryError::NeedsUpgrade`].
    pub fn open_unchanged(path: impl AsRef<Path>) -> Result<Option<DurableHistory>, HistoryError> {
        let path = path.as_ref();
        if is_new(path)? {
            return Ok(None);
        }
        contain(path, || {
            let db = open_checked(path)?;
            match inspect(path, &db)? {
                Found::Empty => Ok(None),
                Found::Version(found) if found < Self::FORMAT_VERSION => {
                    Err(HistoryError::NeedsUpgrade {
                        path: path.to_path_buf(),
                        found,
                        expected: Self::FORMAT_VERSION,
                    })
                }
                Found::Version(_) => DurableHistory::with_view(path.to_path_buf(), db).map(Some),
            }
        })?
    }

    fn from_database(path: PathBuf, mut db: Database) -> Result<DurableHistory, HistoryError> {
        match inspect(&path, &db)? {
            // A new file, or one whose first commit never happened.
            Found::Empty => initialize(&db).map_err(|e| failure(&path, e))?,
            Found::Version(found) if found < Self::FORMAT_VERSION => {
                upgrade(&db, found).map_err(|e| failure(&path, e))?;
                // The old tables' pages are free now: moved to the end and
                // cut off, so that the upgrade gives the space back.
                db.compact()
                    .map_err(|e| failure(&path, redb::Error::from(e)))?;
            }
            Found::Version(_) => {}
        }
        DurableHistory::with_view(path, db)
    }

    fn with_view(path: PathBuf, db: Database) -> Result<DurableHistory, HistoryError> {
        let view = View::open(&db, None).map_err(|e| failure(&path, e))?;
        Ok(DurableHistory {
            path,
            db,
            view: Some(view),
            read: std::sync::Mutex::default(),
        })
    }
}

/// Opens the existing redb database at `path` and runs redb's integrity
/// check, which verifies the checksum of every page in use before anything
/// is read from them: a damaged store is refused instead of answering from
/// garbage (or stopping redb on it). It reads the whole file, once per open.
fn open_checked(path: &Path) -> Result<Database, HistoryError> {
    let mut db = builder().open(path).map_err(|e| open_error(path, e))?;
    match db.check_integrity() {
        // `false`: redb rebuilt its record of free pages (after a crash). A
        // store whose every commit was two-phase is never rolled back to an
        // earlier commit by it: a page whose checksum fails is an error.
        Ok(_) => Ok(db),
        Err(e) => Err(HistoryError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// What a database holds, read without changing it.
enum Found {
    /// No table at all: a new store.
    Empty,
    /// A store of this format version, with every table it needs.
    Version(u32),
}

/// Checks that `db` is empty or a nextbest store this build reads, with
/// every table of its format and their types.
fn inspect(path: &Path, db: &Database) -> Result<Found, HistoryError> {
    let txn = db.begin_read().map_err(|e| failure(path, e))?;
    let empty = txn
        .list_tables()
        .map_err(|e| failure(path, e))?
        .next()
        .is_none()
        && txn
            .list_multimap_tables()
            .map_err(|e| failure(path, e))?
            .next()
            .is_none();
    if empty {
        return Ok(Found::Empty);
    }
    let version = check_format(path, &txn)?;
    verify(path, &txn, COUNTERS)?;
    if version >= 4 {
        verify(path, &txn, NAMES)?;
        verify(path, &txn, PROFILES)?;
        return Ok(Found::Version(version));
    }
    verify(path, &txn, ACTIONS)?;
    verify(path, &txn, SENDS)?;
    verify(path, &txn, RECORDS)?;
    verify(path, &txn, BY_TIME)?;
    if version >= 2 {
        verify(path, &txn, RECORD_STEPS)?;
        verify(path, &txn, JOURNEYS)?;
    }
    if version >= 3 {
        verify(path, &txn, LAST_DECIDED)?;
    }
    Ok(Found::Version(version))
}

/// Creates every table and writes the format metadata, in one commit.
fn initialize(db: &Database) -> Result<(), Fault> {
    let txn = begin_write(db)?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert("format", FORMAT)?;
        meta.insert(
            "version",
            DurableHistory::FORMAT_VERSION.to_string().as_str(),
        )?;
        txn.open_table(COUNTERS)?.insert(RECORDS_HELD, 0)?;
        txn.open_table(NAMES)?;
        txn.open_table(PROFILES)?;
    }
    txn.commit()?;
    Ok(())
}

/// Refuses a file that is not a nextbest history store of a version this
/// build reads; returns the version.
fn check_format(path: &Path, txn: &redb::ReadTransaction) -> Result<u32, HistoryError> {
    let not_a_store = |detail: &str| HistoryError::NotAStore {
        path: path.to_path_buf(),
        detail: detail.to_owned(),
    };
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(not_a_store("a redb database without nextbest metadata"));
        }
        Err(TableError::TableTypeMismatch { .. } | TableError::TableIsMultimap(_)) => {
            return Err(not_a_store("its `meta` table is not nextbest's"));
        }
        Err(e) => return Err(failure(path, e)),
    };
    let get = |key: &str| -> Result<Option<String>, HistoryError> {
        Ok(meta
            .get(key)
            .map_err(|e| failure(path, e))?
            .map(|v| v.value().to_owned()))
    };
    if get("format")?.as_deref() != Some(FORMAT) {
        return Err(not_a_store("its metadata names another format"));
    }
    let Some(version) = get("version")? else {
        return Err(not_a_store("its metadata has no version"));
    };
    let found: u32 = version
        .parse()
        .map_err(|_| not_a_store(&format!("its version `{version}` is not a number")))?;
    if !(1..=DurableHistory::FORMAT_VERSION).contains(&found) {
        return Err(HistoryError::Format {
            path: path.to_path_buf(),
            found,
            expected: DurableHistory::FORMAT_VERSION,
        });
    }
    Ok(found)
}

/// Refuses a store whose table `definition` is missing or of other types.
fn verify<K: redb::Key + 'static, V: redb::Value + 'static>(
    path: &Path,
    txn: &redb::ReadTransaction,
    definition: TableDefinition<K, V>,
) -> Result<(), HistoryError> {
    match txn.open_table(definition) {
        Ok(_) => Ok(()),
        Err(
            e @ (TableError::TableDoesNotExist(_)
            | TableError::TableTypeMismatch { .. }
            | TableError::TableIsMultimap(_)),
        ) => Err(HistoryError::NotAStore {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
        Err(e) => Err(failure(path, e)),
    }
}

/// The error of opening the database file.
fn open_error(path: &Path, error: DatabaseError) -> HistoryError {
    let path = path.to_path_buf();
    match error {
        DatabaseError::DatabaseAlreadyOpen => HistoryError::InUse { path },
        DatabaseError::Storage(StorageError::Io(e)) if e.kind() == ErrorKind::InvalidData => {
            HistoryError::NotAStore {
                path,
                detail: "not a redb database".into(),
            }
        }
        DatabaseError::Storage(StorageError::Corrupted(detail)) => {
            HistoryError::Damaged { path, detail }
        }
        DatabaseError::UpgradeRequired(version) => HistoryError::NotAStore {
            path,
            detail: format!("a redb database of file format {version}, which nextbest never wrote"),
        },
        e => failure(&path, e),
    }
}

/// Locks `file` as redb locks a database file (an exclusive `flock` on
/// Unix), until the value returned is dropped: a file redb has open cannot
/// be locked, and the other way round.
fn lock(file: File) -> Result<redb::backends::FileBackend, DatabaseError> {
    redb::backends::FileBackend::new(file)
}

/// The directory `path` is in.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a newly created file's directory entry durable.
fn sync_parent(path: &Path) -> Result<(), HistoryError> {
    #[cfg(unix)]
    {
        std::fs::File::open(directory_of(path))
            .and_then(|dir| dir.sync_all())
            .map_err(|e| HistoryError::Io {
                path: path.to_path_buf(),
                detail: format!("cannot sync its directory: {e}"),
                source: Some(e),
            })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// How nextbest opens and creates redb databases.
fn builder() -> redb::Builder {
    let mut builder = redb::Builder::new();
    // The file format redb 3 reads (it dropped v2). Not the only step to a
    // newer redb: redb 3 also encodes variable-width tuples differently.
    builder.create_with_file_format_v3(true);
    builder
}

/// Whether `path` holds no store yet: no file, or an empty one.
fn is_new(path: &Path) -> Result<bool, HistoryError> {
    match std::fs::metadata(path) {
        Ok(file) => Ok(file.len() == 0),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) => Err(HistoryError::Io {
            path: path.to_path_buf(),
            detail: e.to_string(),
            source: Some(e),
        }),
    }
}

/// Creates the store at `path`, where there is none yet: see
/// [`DurableHistory::open`].
fn create(path: &Path) -> Result<DurableHistory, HistoryError> {
    let failed = |what: &str, e: std::io::Error| HistoryError::Io {
        path: path.to_path_buf(),
        detail: format!("cannot create it: {what}: {e}"),
        source: Some(e),
    };
    // The claim: the (empty) file at `path`, locked until the store is in
    // place, so that two processes creating the same store at once never
    // rename one store over the other, which may already hold records.
    let claim = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| failed("cannot open the file", e))?;
    let claim = lock(claim).map_err(|e| open_error(path, e))?;
    if !is_new(path)? {
        // Created by another process between our look and our lock.
        drop(claim);
        return DurableHistory::open(path);
    }
    remove_leftovers(path);
    let temporary = temporary_name(path);
    let db = build(path, &temporary).and_then(|db| {
        std::fs::rename(&temporary, path)
            .map_err(|e| failed("cannot rename the new store into place", e))?;
        sync_parent(path)?;
        Ok(db)
    });
    if db.is_err() {
        // Never renamed: it holds nothing.
        let _ = std::fs::remove_file(&temporary);
    }
    drop(claim);
    DurableHistory::with_view(path.to_path_buf(), db?)
}

/// A new store in the new file `temporary`: every table and the format
/// metadata, committed (and so synced to disk).
fn build(path: &Path, temporary: &Path) -> Result<Database, HistoryError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(temporary)
        .map_err(|e| HistoryError::Io {
            path: path.to_path_buf(),
            detail: format!("cannot create it: {}: {e}", temporary.display()),
            source: Some(e),
        })?;
    let db = builder().create_file(file).map_err(|e| failure(path, e))?;
    initialize(&db).map_err(|e| failure(path, e))?;
    Ok(db)
}

/// What the temporary files of creations of the store at `path` start with.
fn leftover_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.creating-")
}

/// A name no other creation uses, next to `path` (a rename stays inside one
/// file system).
fn temporary_name(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{}{}-{nanos}", leftover_prefix(path), std::process::id());
    path.with_file_name(name)
}

/// Removes the temporary files that creations of the store at `path` left
/// when they were killed before renaming them into place. Such a file never
/// held a record: records are only written to a store under its own name
/// (one killed after its rename is a second name for the store, and
/// removing that name removes nothing from it). A file still locked is a
/// creation under way, and is left alone. Best effort: a leftover that
/// cannot be removed harms nothing.
fn remove_leftovers(path: &Path) {
    let prefix = leftover_prefix(path);
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let unlocked = File::open(entry.path()).map(lock);
        if let Ok(Ok(_lock)) = unlocked {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
