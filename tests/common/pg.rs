//! A throwaway PostgreSQL cluster for the tests of the PostgreSQL history:
//! one per test binary, started on first use and shared through a
//! `OnceLock`, each test in a database of its own.
//!
//! The cluster lives in a fresh temporary directory, listens on a unix
//! socket in that directory only (never on a TCP port, never touching a
//! system cluster) and runs with `fsync=off`: a test cluster is not worth a
//! disk flush per commit, and a crash of the machine discards it anyway.
//! A static is never dropped, so a small watcher process stops the server
//! (immediate shutdown) and removes the directory once the test process
//! has exited, however it exits.
//!
//! Without PostgreSQL installed the tests fail, naming what is missing: a
//! test that passes without the server would claim what it never checked.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cluster: the shared one of this test binary, or a private one that a
/// test stops and starts.
pub struct Cluster {
    /// The directory of its socket (and of its data, under `data/`).
    dir: PathBuf,
    /// Where its server binaries are.
    bin: PathBuf,
    /// Its server's options.
    options: String,
}

impl Cluster {
    /// A connection string to `database`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "host={} port=5432 user=postgres dbname={database}",
            self.dir.display()
        )
    }

    /// A `postgresql://` URL of `database` (the socket's directory as the
    /// `host` parameter), as a user passes one to `nextbest --history`.
    pub fn url_form(&self, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port=5432&user=postgres",
            self.dir.display()
        )
    }

    /// A fresh, empty database of its own, named after `name`: its
    /// connection string.
    pub fn database(&self, name: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let clean: String = (name.chars())
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect();
        let database = format!("t{n}_{clean}").to_lowercase();
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .unwrap_or_else(|e| panic!("creating database {database}: {e}"));
        self.url(&database)
    }

    /// A fresh, empty database of its own, named after `name`: its name.
    pub fn database_name(&self, name: &str) -> String {
        let url = self.database(name);
        url.rsplit("dbname=").next().unwrap_or_default().to_owned()
    }
}

impl Cluster {
    /// A cluster of its own for a test that stops its server: commits are
    /// written to the operating system before they are acknowledged
    /// (`synchronous_commit=on`; not flushed to the disk, `fsync=off`), so
    /// an immediate shutdown, which a server recovers from as from a crash,
    /// loses none of them. Stopped when dropped (and by its watcher).
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start.
    pub fn private(name: &str) -> Cluster {
        start(name, "-c synchronous_commit=on")
            .unwrap_or_else(|why| panic!("this test needs a PostgreSQL server: {why}"))
    }

    /// A cluster of its own that flushes every commit to the disk, as a
    /// production server does (`fsync=on`, `synchronous_commit=on`,
    /// `full_page_writes=on`): for benchmarks.
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start.
    pub fn durable(name: &str) -> Cluster {
        let durability = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on";
        start(name, durability)
            .unwrap_or_else(|why| panic!("this needs a PostgreSQL server: {why}"))
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): clients lose
    /// their connections mid-transaction, as in a crash of the server.
    pub fn stop_immediately(&self) {
        run(
            as_server_user(&self.bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.dir.join("data")),
            "pg_ctl stop -m immediate",
        )
        .unwrap();
    }

    /// Starts the server again after [`Cluster::stop_immediately`]; it
    /// recovers from its log before it accepts connections.
    pub fn restart(&self) {
        self.start_server().unwrap();
    }

    fn start_server(&self) -> Result<(), String> {
        run(
            as_server_user(&self.bin.join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(self.dir.join("data"))
                .arg("-l")
                .arg(self.dir.join("log"))
                .args(["-o", &self.options]),
            "pg_ctl start",
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run(
            as_server_user(&self.bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-D"])
                .arg(self.dir.join("data")),
            "pg_ctl stop",
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared cluster, started on first use.
///
/// # Panics
/// When PostgreSQL is not installed or does not start: the message says why.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| start("shared", "-c synchronous_commit=off")) {
        Ok(cluster) => cluster,
        Err(why) => panic!("the PostgreSQL history tests need a PostgreSQL server: {why}"),
    }
}

/// Where `initdb`, `pg_ctl` and `postgres` are.
fn bin_dir() -> Result<PathBuf, String> {
    let from_pg_config = Command::new("pg_config").arg("--bindir").output().ok();
    let mut candidates: Vec<PathBuf> = (from_pg_config.into_iter())
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .collect();
    // Debian's pg_config may belong to a client-only package: look where
    // the server packages put their binaries too, newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| {
            "no initdb and pg_ctl found (neither in `pg_config --bindir` nor in \
             /usr/lib/postgresql/*/bin); install PostgreSQL (Debian: apt-get install \
             postgresql), as .ci/run does"
                .to_owned()
        })
}

/// Runs a PostgreSQL program: as the `postgres` user when this process is
/// root (initdb and the server refuse root), else as this user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A new cluster in a directory named after `name`, its server started
/// with `durability` (settings that override the defaults of a test
/// cluster: no flushes to the disk).
fn start(name: &str, durability: &str) -> Result<Cluster, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let bin = bin_dir()?;
    // Short: a unix socket's path is limited to about 100 bytes.
    let dir = std::env::temp_dir().join(format!(
        "nbpg-{}-{}{}",
        std::process::id(),
        name.get(..6).unwrap_or(name),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if is_root() {
        run(
            Command::new("chown").arg("postgres:").arg(&dir),
            "chown of the test cluster's directory to postgres",
        )?;
    }
    let data = dir.join("data");
    run(
        as_server_user(&bin.join("initdb"))
            .args(["--no-sync", "--auth=trust", "-U", "postgres", "-E", "UTF8"])
            .arg("-D")
            .arg(&data),
        "initdb",
    )?;
    // The watcher first: if the start below fails half-way, it still
    // cleans up after this process.
    watch(&dir)?;
    let options = format!(
        "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off \
         -c full_page_writes=off -c max_connections=100 {durability}",
        dir.display()
    );
    let cluster = Cluster { dir, bin, options };
    cluster.start_server()?;
    Ok(cluster)
}

/// Starts a process that waits for this one to exit, then stops the
/// server (SIGQUIT: immediate shutdown) and removes `dir`.
fn watch(dir: &Path) -> Result<(), String> {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         if [ -f '{dir}/data/postmaster.pid' ]; then \
           kill -QUIT \"$(head -n 1 '{dir}/data/postmaster.pid')\" 2>/dev/null; sleep 1; \
         fi; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("starting the cluster's watcher: {e}"))
}
