//! The report over the shared PostgreSQL history (SPEC §9): the same
//! figures as over the in-memory history, from the library and from
//! `nextbest report --history postgresql://…`.

use nextbest::Timestamp;
use nextbest::history::{MemoryHistory, PostgresHistory};
use nextbest::report::{Options, Report};

use crate::common::pg::cluster;
use crate::common::{Scratch, nextbest, text};
use crate::fixture;

#[test]
fn a_report_over_postgresql_counts_what_one_over_memory_counts() {
    let rules = fixture::rules();
    let profiles = fixture::profiles(&rules);
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let options = Options::default().min_group(2);
    let mut memory = MemoryHistory::new();
    fixture::record_history(&mut memory);
    let expected = Report::build(&rules, &memory, &profiles, now, &options).unwrap();

    let database = cluster().database_name("report");
    let mut store = PostgresHistory::connect(&cluster().url(&database)).unwrap();
    fixture::record_history(&mut store);
    let report = Report::build(&rules, &store, &profiles, now, &options).unwrap();
    assert_eq!(report, expected);

    let dir = Scratch::new("report-postgres");
    let rules_file = dir.file("rules.toml");
    std::fs::write(&rules_file, fixture::RULES).unwrap();
    let profiles_file = dir.file("profiles.jsonl");
    std::fs::write(&profiles_file, fixture::profiles_jsonl()).unwrap();
    let out = nextbest(
        &[
            "report",
            rules_file.to_str().unwrap(),
            "--history",
            &cluster().url_form(&database),
            "--profiles",
            profiles_file.to_str().unwrap(),
            "--now",
            fixture::NOW,
            "--min-group",
            "2",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json, expected.to_json());
}
