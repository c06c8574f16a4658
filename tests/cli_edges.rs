//! The command line at its edges (issue 12): retried batches, closed and
//! failing outputs, odd arguments and inputs. Each test drives the real
//! binary and fails on the defect it is named after.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Scratch, nextbest, text};
use nextbest::history::DurableHistory;

const RULES: &str = "examples/rules/classic.toml";
const CUSTOMERS: &str = "examples/data/customers.jsonl";
const NOW: &str = "2026-11-24T09:00:00Z";

/// `decide` over the bundled customers at `now`, with `extra` arguments.
fn decide(now: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["decide", RULES, "--profiles", CUSTOMERS, "--now", now];
    args.extend_from_slice(extra);
    let out = nextbest(&args, None);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn a_retried_batch_replays_and_contacts_no_one_again() {
    let dir = Scratch::new("retried-batch");
    let store = dir.file("history.redb");
    let history = ["--history", store.to_str().unwrap()];
    let (code, first, stderr) = decide(NOW, &history);
    assert_eq!(code, 0, "{stderr}");
    assert!(first.lines().count() >= 10, "{first}");
    let recorded = || DurableHistory::open(&store).unwrap().len().unwrap();
    let after_first = recorded();
    // Retried three times at the same instant: the same lines, the same
    // keys, nothing new chosen and nothing new recorded.
    for retry in 1..=3 {
        let (code, again, stderr) = decide(NOW, &history);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(again, first, "retry {retry} differs");
        assert_eq!(recorded(), after_first, "retry {retry} recorded more");
    }
    // An earlier instant chooses nothing at all.
    let (code, earlier, stderr) = decide("2026-11-23T09:00:00Z", &history);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(earlier, "");
    assert_eq!(recorded(), after_first);
}
