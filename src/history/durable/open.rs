//! Opening a store: creating it, refusing a file that is not one, and
//! upgrading an older format in place.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{Database, DatabaseError, StorageError, TableDefinition, TableError};

use super::{
    ACTIONS, BY_TIME, COUNTERS, DurableHistory, FORMAT, Fault, JOURNEYS, META, RECORD_STEPS,
    RECORDS, SENDS, View, io_error,
};
use crate::history::HistoryError;

impl DurableHistory {
    /// Opens the store at `path`, creating it if the file is missing, empty,
    /// or a redb database without any table.
    ///
    /// # Errors
    /// [`HistoryError::InUse`] if another process (or another handle in this
    /// one) has it open; [`HistoryError::NotAStore`] if the file is not a
    /// nextbest history store; [`HistoryError::Format`] if it was written by a
    /// newer version; [`HistoryError::Io`] if it cannot be read or created.
    pub fn open(path: impl AsRef<Path>) -> Result<DurableHistory, HistoryError> {
        let path = path.as_ref();
        let existed = path.exists();
        let db = redb::Builder::new()
            // The file format redb 3 reads (it dropped v2), so that a move to a newer
            // redb needs no migration.
            .create_with_file_format_v3(true)
            .create(path)
            .map_err(|e| open_error(path, e))?;
        let history = DurableHistory::from_database(path.to_path_buf(), db)?;
        if !existed {
            sync_parent(path)?;
        }
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
        let db = redb::Builder::new()
            .create_with_file_format_v3(true)
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
        match std::fs::metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(HistoryError::Io {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                });
            }
            Ok(file) if file.len() == 0 => return Ok(None),
            Ok(_) => {}
        }
        let db = Database::open(path).map_err(|e| open_error(path, e))?;
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
    }

    fn from_database(path: PathBuf, db: Database) -> Result<DurableHistory, HistoryError> {
        match inspect(&path, &db)? {
            // A new file, or one whose first commit never happened.
            Found::Empty => initialize(&db).map_err(|e| io_error(&path, e))?,
            Found::Version(1) => upgrade_from_v1(&db).map_err(|e| io_error(&path, e))?,
            Found::Version(_) => {}
        }
        DurableHistory::with_view(path, db)
    }

    fn with_view(path: PathBuf, db: Database) -> Result<DurableHistory, HistoryError> {
        let view = View::open(&db).map_err(|e| io_error(&path, e))?;
        Ok(DurableHistory {
            path,
            db,
            view: Some(view),
            failure: Mutex::new(None),
        })
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
    let txn = db.begin_read().map_err(|e| io_error(path, e))?;
    let empty = txn
        .list_tables()
        .map_err(|e| io_error(path, e))?
        .next()
        .is_none()
        && txn
            .list_multimap_tables()
            .map_err(|e| io_error(path, e))?
            .next()
            .is_none();
    if empty {
        return Ok(Found::Empty);
    }
    let version = check_format(path, &txn)?;
    verify(path, &txn, COUNTERS)?;
    verify(path, &txn, ACTIONS)?;
    verify(path, &txn, SENDS)?;
    verify(path, &txn, RECORDS)?;
    verify(path, &txn, BY_TIME)?;
    if version >= 2 {
        verify(path, &txn, RECORD_STEPS)?;
        verify(path, &txn, JOURNEYS)?;
    }
    Ok(Found::Version(version))
}

/// Creates every table and writes the format metadata, in one commit.
fn initialize(db: &Database) -> Result<(), Fault> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert("format", FORMAT)?;
        meta.insert(
            "version",
            DurableHistory::FORMAT_VERSION.to_string().as_str(),
        )?;
        txn.open_table(COUNTERS)?.insert("next_seq", 0)?;
        txn.open_table(ACTIONS)?;
        txn.open_table(SENDS)?;
        txn.open_table(RECORDS)?;
        txn.open_table(BY_TIME)?;
        txn.open_table(RECORD_STEPS)?;
        txn.open_table(JOURNEYS)?;
    }
    txn.commit()?;
    Ok(())
}

/// Adds the tables of version 2 to a version 1 store, in one commit.
fn upgrade_from_v1(db: &Database) -> Result<(), Fault> {
    let txn = db.begin_write()?;
    {
        txn.open_table(RECORD_STEPS)?;
        txn.open_table(JOURNEYS)?;
        txn.open_table(META)?.insert(
            "version",
            DurableHistory::FORMAT_VERSION.to_string().as_str(),
        )?;
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
        Err(e) => return Err(io_error(path, e)),
    };
    let get = |key: &str| -> Result<Option<String>, HistoryError> {
        Ok(meta
            .get(key)
            .map_err(|e| io_error(path, e))?
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
        Err(e) => Err(io_error(path, e)),
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
        DatabaseError::UpgradeRequired(version) => HistoryError::NotAStore {
            path,
            detail: format!("a redb database of file format {version}, which nextbest never wrote"),
        },
        e => io_error(&path, e),
    }
}

/// Makes a newly created file's directory entry durable.
fn sync_parent(path: &Path) -> Result<(), HistoryError> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| HistoryError::Io {
                path: path.to_path_buf(),
                detail: format!("cannot sync its directory: {e}"),
            })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
