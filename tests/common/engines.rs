//! The embedded SQL engines of the SQL stage's tests: the Python of
//! `.venv-sql/` that `scripts/sql-engines.sh` installs them in. Shared by
//! the differential test (`src/sql/differential.rs`, which includes this
//! file) and the command-line tests (`tests/cli_sql.rs`).
//!
//! In CI (`CI` set) a missing engine fails the test that needs it: a test
//! that passes without the engine would claim what it never checked. On a
//! developer machine without it, the test is skipped with the reason.
#![allow(dead_code, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The longest wait for one line of an answer (a 2 000-trigger Spark job
/// answers after about 8 minutes): a server that hangs fails the test
/// instead of holding CI until its own limit.
const LINE_TIMEOUT: Duration = Duration::from_secs(12 * 60);

/// The Python that can `import module`, or `None` (the reason printed)
/// where skipping is allowed.
///
/// # Panics
/// When it is missing and `CI` is set.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-sql/bin/python");
    let works = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if works {
        return Some(python);
    }
    let script = if module == "pyspark" {
        "scripts/sql-engines-spark.sh"
    } else {
        "scripts/sql-engines.sh"
    };
    let why = format!(
        "{module} is not installed in {}: run {script}",
        python.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    println!("skipped: {why}");
    None
}

/// A Python process that answers each line written to its standard input
/// with lines and then one `nextbest-done`: one process (for Spark, one JVM,
/// which takes seconds to start) for many requests.
pub struct Server {
    child: Child,
    /// Its standard output's lines, read by a thread of their own so that
    /// a wait can time out.
    lines: Receiver<String>,
}

impl Server {
    /// `python args…`, its standard error the test's.
    ///
    /// # Panics
    /// When it cannot be started.
    pub fn start(python: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(python)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
        let stdout = child.stdout.take().map(BufReader::new);
        let stdout = stdout.unwrap_or_else(|| panic!("no standard output"));
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines }
    }

    /// Sends `request` (one line) and returns the lines it answered.
    ///
    /// # Panics
    /// When the process has stopped, or has not answered a line within
    /// [`LINE_TIMEOUT`] (it is killed).
    pub fn ask(&mut self, request: &str) -> String {
        let stdin = self.child.stdin.as_mut();
        let sent = stdin.map(|s| writeln!(s, "{request}").and_then(|()| s.flush()));
        assert!(matches!(sent, Some(Ok(()))), "the server is gone: {sent:?}");
        let mut answer = String::new();
        loop {
            let line = match self.lines.recv_timeout(LINE_TIMEOUT) {
                Ok(line) => line,
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the server stopped on:\n{request}")
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("the server did not answer in {LINE_TIMEOUT:?}:\n{request}")
                }
            };
            if line.trim_end() == "nextbest-done" {
                return answer;
            }
            answer.push_str(&line);
            answer.push('\n');
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Its standard input closed, the server stops; one that does not
        // within a minute is killed.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
