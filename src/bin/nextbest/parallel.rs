//! Profiles streamed through a thread pool: read in input order, parsed (and
//! evaluated or decided) in parallel a chunk at a time, written in input
//! order. Memory holds one chunk, whatever the input's size.

use std::cell::Cell;
use std::io::{self, BufRead, IsTerminal};
use std::sync::mpsc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nextbest::{JsonLine, JsonLines, LineError, Profile, Schema};
use rayon::ThreadPool;
use rayon::prelude::*;

use crate::{Flow, Reported, report};

/// How many lines are read and worked on at once: enough to keep every
/// thread of a large machine busy, few enough that a chunk of profiles
/// stays in cache and is freed before the allocator starts consolidating
/// (4 096 cost a fifth more time on one thread).
pub const CHUNK: usize = 1024;

/// A pool of `threads` threads (every core when `None`).
pub fn pool(threads: Option<usize>) -> Result<ThreadPool, String> {
    let threads = match threads {
        Some(0) => return Err("--threads must be at least 1".to_owned()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))
}

/// Reads `input` a chunk at a time and parses each chunk's lines on
/// `pool`; hands `each` the chunk's profiles in input order. A bad line is
/// reported as `ORIGIN:LINE: …` and counted. Returns the count of bad
/// lines, or `None` if `each` stopped.
pub fn chunks(
    schema: &Schema,
    input: Box<dyn BufRead + Send + 'static>,
    origin: &str,
    size: Option<u64>,
    pool: &ThreadPool,
    mut each: impl FnMut(Vec<Profile>) -> Result<Flow, Reported>,
) -> Result<Option<usize>, Reported> {
    let progress = Progress::new(size);
    // The next chunks are read on a thread of their own while this one is
    // worked on: reading is the one step that cannot be shared out.
    let (sender, chunks) = mpsc::sync_channel::<Vec<Result<JsonLine, LineError>>>(2);
    // Joined only once the input has ended: a run that stops early must not
    // wait for a read that may never end (a terminal on stdin).
    let reader = std::thread::spawn(move || {
        let mut lines = JsonLines::new(input);
        loop {
            let chunk: Vec<_> = lines.by_ref().take(CHUNK).collect();
            // Stops when the input ends or the run does.
            if chunk.is_empty() || sender.send(chunk).is_err() {
                return;
            }
        }
    });
    let mut bad_lines = 0usize;
    for chunk in chunks {
        progress.read(&chunk);
        let parsed: Vec<Result<Profile, LineError>> = pool.install(|| {
            (chunk.into_par_iter())
                .map(|line| line.and_then(|line| line.profile(schema)))
                .collect()
        });
        let mut profiles = Vec::with_capacity(parsed.len());
        for result in parsed {
            match result {
                Ok(profile) => profiles.push(profile),
                Err(error) => {
                    bad_lines += 1;
                    progress.println(format!("{origin}:{}: {}", error.line(), error.detail()));
                }
            }
        }
        let count = profiles.len() as u64;
        if let Flow::Stop = each(profiles)? {
            progress.finish();
            return Ok(None);
        }
        progress.done(count);
    }
    progress.finish();
    // The channel also ends when the reader fails: that is no end of input.
    if reader.join().is_err() {
        return Err(report(format!("reading `{origin}` stopped unexpectedly")));
    }
    Ok(Some(bad_lines))
}

/// Progress on stderr when it is a terminal: the share of the input read
/// (when its size is known), profiles done, their rate and an ETA.
struct Progress(Option<ProgressBar>, Cell<u64>);

impl Progress {
    fn new(size: Option<u64>) -> Progress {
        if !io::stderr().is_terminal() {
            return Progress(None, Cell::new(0));
        }
        let bar = match size {
            Some(bytes) => ProgressBar::new(bytes).with_style(
                ProgressStyle::with_template(
                    "{wide_bar} {percent:>3}% · {msg} profiles · {binary_bytes_per_sec} · ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} profiles · {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.set_message("0");
        Progress(Some(bar), Cell::new(0))
    }

    /// A chunk was read: its bytes count towards the input's size.
    fn read(&self, chunk: &[Result<JsonLine, LineError>]) {
        if let Some(bar) = &self.0 {
            let bytes: usize = (chunk.iter().flatten()).map(|line| line.text.len()).sum();
            bar.inc(bytes as u64);
        }
    }

    /// `count` more profiles are done.
    fn done(&self, count: u64) {
        self.1.set(self.1.get().saturating_add(count));
        if let Some(bar) = &self.0 {
            bar.set_message(self.1.get().to_string());
        }
    }

    /// A line on stderr that does not break the bar.
    fn println(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish();
        }
    }
}
