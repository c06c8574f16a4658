//! Rule-set files through the public API: the bundled example loads, TOML and
//! JSON mean the same, and every problem is reported with its place.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nextbest::rules::{Format, RuleSet, RuleSetError};

fn classic() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/rules/classic.toml"
    ))
    .unwrap()
}

fn problems(source: &str, format: Format) -> String {
    match RuleSet::parse(source, format, "rules.toml") {
        Ok(_) => panic!("expected problems"),
        Err(RuleSetError::Invalid(invalid)) => invalid.render(false),
        Err(other) => panic!("{other}"),
    }
}

/// `rules.toml:LINE:COLUMN` of the first `column_at` on the first line of
/// `source` that holds `line_with`.
fn place(source: &str, line_with: &str, column_at: &str) -> String {
    let (index, line) = (source.lines().enumerate())
        .find(|(_, l)| l.contains(line_with))
        .unwrap();
    let column = line.find(column_at).unwrap();
    format!("rules.toml:{}:{}", index + 1, column + 1)
}

/// Asserts that `rendered` points at the first `needle` of `source`.
fn points_at(rendered: &str, source: &str, needle: &str) {
    let place = place(source, needle, needle);
    assert!(rendered.contains(&format!("--> {place}")), "{rendered}");
}

#[test]
fn the_classic_rule_set_loads() {
    let rules =
        RuleSet::parse(&classic(), Format::Toml, "classic.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.actions.len(), 8);
    assert_eq!(rules.journeys.len(), 1);
    assert_eq!(rules.journeys[0].steps.len(), 3);
    assert_eq!(rules.caps[0].max, 3);
    assert_eq!(rules.holdout.as_ref().unwrap().percent, 5);
    assert!(
        rules
            .action("churn_push_incentive")
            .unwrap()
            .trigger
            .is_none()
    );
}

#[test]
fn expression_errors_point_into_the_file() {
    let source = classic().replace(
        "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'\"\n# No",
        "login_cnt_30d < 0.6 * login_count_60d AND user_segment = 'active'\"\n# No",
    );
    let rendered = problems(&source, Format::Toml);
    let place = place(&source, "login_cnt_30d", "login_cnt_30d");
    assert!(rendered.contains(&format!("--> {place}")), "{rendered}");
    assert!(
        rendered.contains("did you mean `login_count_30d`?"),
        "{rendered}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let source = r#"
[schema.traits]
opt = "int"
tz = "bool"
[schema.events]
visit = { path = "strng" }
[consent]
emial = { opt_in = "opt" }
[quiet_hours]
start = "25:00"
end = "08:00"
timezone_trait = "tz"
default_timezone = "Europe/Berlln"
[[action]]
id = "a"
channel = "email"
trigger = "count(visit WITHIN 7x) > 0"
cooldwn = "1d"
[[action]]
id = "a"
channel = "email"
[[journey]]
id = "j"
entry = "TRUE"
steps = [{ after = "2d", action = "a" }, { after = "1d", action = "b" }]
"#;
    let rendered = problems(source, Format::Toml);
    for expected in [
        "unknown type `strng`",
        "unknown channel `emial`",
        "is not a clock time",
        "must name a `string` trait, but `tz` is `bool`",
        "unknown time zone `Europe/Berlln`",
        "unknown key `cooldwn`",
        "did you mean `cooldown`?",
        "duplicate action id `a`",
        "names `b`, which is not an action",
    ] {
        assert!(
            rendered.contains(expected),
            "missing {expected:?} in\n{rendered}"
        );
    }
}

#[test]
fn a_channel_listed_twice_in_a_cap_is_refused_with_its_place() {
    let source = classic().replace(
        r#"channels = ["email", "push", "sms"]"#,
        r#"channels = ["email", "push", "email"]"#,
    );
    assert_ne!(source, classic(), "the classic rules have that cap");
    let rendered = problems(&source, Format::Toml);
    let place = place(&source, r#""push", "email"]"#, r#""email"]"#);
    assert!(
        rendered.contains("`email` is listed twice in `cap.channels`"),
        "{rendered}"
    );
    assert!(rendered.contains(&format!("--> {place}")), "{rendered}");
}

#[test]
fn toml_and_json_mean_the_same() {
    let json = r#"{
  "schema": {"traits": {"n": "int"}, "events": {"visit": {"path": "string"}}},
  "action": [{"id": "a", "channel": "email", "trigger": "n > 1 AND count(visit) > 0", "cooldown": "1d"}],
  "consent": {"email": {}}
}"#;
    let toml = "[schema.traits]\nn = \"int\"\n[schema.events]\nvisit = { path = \"string\" }\n[consent]\nemail = {}\n[[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"n > 1 AND count(visit) > 0\"\ncooldown = \"1d\"\n";
    let from_json = RuleSet::parse(json, Format::Json, "rules.json").unwrap();
    let from_toml = RuleSet::parse(toml, Format::Toml, "rules.toml").unwrap();
    assert_eq!(from_json.schema, from_toml.schema);
    assert_eq!(from_json.consent, from_toml.consent);
    assert_eq!(from_json.consent.open, ["email"]);
    assert_eq!(from_json.actions[0].cooldown, from_toml.actions[0].cooldown);
    assert_eq!(
        from_json.actions[0].trigger.as_ref().unwrap().source(),
        from_toml.actions[0].trigger.as_ref().unwrap().source()
    );
    let bad = json.replace("n > 1", "m > 1");
    let rendered = problems(&bad, Format::Json);
    assert!(rendered.contains("--> rules.toml:3:58"), "{rendered}");
}

fn classic_json() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/rules/classic.json"
    ))
    .unwrap()
}

/// Loads text that may be anything: the only requirement is a result or
/// diagnostics that point inside the text, never a panic.
fn load_anything(source: &str, format: Format) {
    if let Err(RuleSetError::Invalid(invalid)) = RuleSet::parse(source, format, "fuzz") {
        assert!(!invalid.diagnostics.is_empty());
        for diagnostic in &invalid.diagnostics {
            assert!(diagnostic.span.end <= source.len(), "{diagnostic:?}");
        }
        let _ = invalid.render(false);
    }
}

fn truncate_at(text: &str, fraction: f64) -> &str {
    let mut end = ((text.len() as f64) * fraction) as usize;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

const MUTATIONS: &[&str] = &[
    "", "\"", "'", "[", "]", "{", "}", "=", ",", "\n", "\\", "(", ")", "x", "0", "-", "é",
    "\"\"\"", "#",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

    #[test]
    fn truncated_rule_files_never_panic(fraction in 0.0f64..1.0) {
        load_anything(truncate_at(&classic(), fraction), Format::Toml);
        load_anything(truncate_at(&classic_json(), fraction), Format::Json);
    }

    #[test]
    fn mutated_rule_files_never_panic(
        edits in proptest::collection::vec((0.0f64..1.0, 0..MUTATIONS.len(), 0usize..4), 1..6),
        json in proptest::bool::ANY,
    ) {
        let mut text = if json { classic_json() } else { classic() };
        for (at, mutation, deleted) in edits {
            let start = truncate_at(&text, at).len();
            let mut end = (start + deleted).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, MUTATIONS[mutation]);
        }
        load_anything(&text, if json { Format::Json } else { Format::Toml });
    }
}

/// The classic rules with the journey's text replaced.
fn classic_with_journey(steps: &str, fallback: &str) -> String {
    let source = classic();
    let start = source.find("steps = [").unwrap();
    let end = source[start..].find("fallback").unwrap() + start;
    let end = end + source[end..].find('\n').unwrap();
    format!("{}{steps}\n{fallback}{}", &source[..start], &source[end..])
}

#[test]
fn journeys_that_can_never_run_are_refused_with_their_place() {
    let steps = "steps = [\n  { after = \"0d\", action = \"churn_email\" },\n  { after = \"3d\", action = \"churn_push\" },\n  { after = \"7d\", action = \"churn_inapp_modal\" },\n]";
    let fallback = "fallback = { after = \"5d\", action = \"csm_call_task\" }";
    let source = classic_with_journey(steps, fallback);
    let rendered = problems(&source, Format::Toml);
    let place = |needle: &str| place(&source, needle, needle);
    // An unknown action, with a suggestion, where it is named.
    assert!(
        rendered.contains("a journey step names `churn_push`, which is not an action"),
        "{rendered}"
    );
    assert!(rendered.contains(&place("\"churn_push\"")), "{rendered}");
    // A fallback due before the last step, where its `after` is.
    assert!(rendered.contains("error[E0413]"), "{rendered}");
    assert!(rendered.contains(&place("\"5d\"")), "{rendered}");

    let steps = "steps = [\n  { after = \"3d\", action = \"churn_email\" },\n  { after = \"1d\", action = \"churn_push_incentive\" },\n]";
    let fallback = "fallback = { after = \"14d\", action = \"csm_call_task\" }";
    let source = classic_with_journey(steps, fallback);
    let rendered = problems(&source, Format::Toml);
    assert!(
        rendered.contains("journey steps out of order"),
        "{rendered}"
    );
    let line = source.lines().position(|l| l.contains("\"1d\"")).unwrap() + 1;
    assert!(
        rendered.contains(&format!("rules.toml:{line}:")),
        "{rendered}"
    );
}

// Loading is linear in the file (issue 12): each file below took minutes to
// check when every key, id or diagnostic walked the whole file again; now
// each loads in well under a second (a few in a debug build).

/// A schema of `traits` int traits and a consent rule, then `actions`.
fn generated(traits: usize, actions: usize, action: impl Fn(usize) -> String) -> String {
    let mut source = String::from("[schema.traits]\nok = \"bool\"\n");
    for i in 0..traits {
        source.push_str(&format!("t{i} = \"int\"\n"));
    }
    source.push_str("\n[consent]\nemail = { opt_in = \"ok\" }\n\n");
    for i in 0..actions {
        source.push_str(&action(i));
    }
    source
}

#[test]
fn a_hundred_thousand_traits_load() {
    let source = generated(100_000, 1, |_| {
        "[[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"t99999 > 1\"\n".to_owned()
    });
    let rules = RuleSet::parse(&source, Format::Toml, "rules.toml").unwrap();
    assert_eq!(rules.schema.attribute_count(), 100_001);
}

#[test]
fn twenty_thousand_actions_load_and_a_repeated_id_is_found() {
    let action = |i: usize| {
        format!("[[action]]\nid = \"a{i}\"\nchannel = \"email\"\ntrigger = \"t0 > {i}\"\n\n")
    };
    let source = generated(1, 20_000, action);
    let rules = RuleSet::parse(&source, Format::Toml, "rules.toml").unwrap();
    assert_eq!(rules.actions.len(), 20_000);

    let repeated = source + &action(0);
    let rendered = problems(&repeated, Format::Toml);
    assert!(rendered.contains("duplicate action id `a0`"), "{rendered}");
    let line = (repeated.lines().enumerate())
        .filter(|(_, l)| *l == "id = \"a0\"")
        .last()
        .unwrap()
        .0
        + 1;
    assert!(
        rendered.contains(&format!("--> rules.toml:{line}:6")),
        "{rendered}"
    );
}

#[test]
fn ten_thousand_errors_are_each_rendered_at_their_line() {
    let source = generated(1, 10_000, |i| {
        format!("[[action]]\nid = \"a{i}\"\nchannel = \"email\"\ncooldwn = \"1d\"\n\n")
    });
    let rendered = problems(&source, Format::Toml);
    assert_eq!(rendered.matches("unknown key `cooldwn`").count(), 10_000);
    let last = source.lines().count() - 1;
    assert!(
        rendered.ends_with(&format!(
            "--> rules.toml:{last}:1\n      |\n{last} | cooldwn = \"1d\"\n      | ^^^^^^^ did you mean `cooldown`?"
        )),
        "{}",
        &rendered[rendered.len() - 300..]
    );
}

// Every channel is declared (SPEC §4): a channel an action or a cap names and
// `[consent]` does not declare is refused, so a typo never sends without consent.

#[test]
fn a_misspelt_channel_of_an_action_or_a_cap_is_refused_with_a_suggestion() {
    for (line, meant, typo) in [
        ("channel     = \"email\"", "email", "emial"),
        (r#"channels = ["email", "push", "sms"]"#, "push", "psuh"),
    ] {
        let misspelt = line.replace(&format!("\"{meant}\""), &format!("\"{typo}\""));
        let source = classic().replacen(line, &misspelt, 1);
        assert_ne!(source, classic());
        let rendered = problems(&source, Format::Toml);
        assert!(
            rendered.contains(&format!(
                "error[E0412]: channel `{typo}` is not declared in [consent]"
            )),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("did you mean `{meant}`?")),
            "{rendered}"
        );
        points_at(&rendered, &source, &format!("\"{typo}\""));
    }
}

#[test]
fn a_channel_without_a_consent_entry_is_refused_and_told_how_to_declare_it() {
    let source = classic().replace("sales_task = {}\n", "");
    let rendered = problems(&source, Format::Toml);
    assert!(
        rendered.contains("channel `sales_task` is not declared in [consent]"),
        "{rendered}"
    );
    assert!(
        rendered.contains("or `sales_task = {}` if it needs no opt-in"),
        "{rendered}"
    );
    // Without any [consent] at all, each action's channel is reported.
    let bare = "[schema.traits]\nx = \"int\"\n[[action]]\nid = \"a\"\nchannel = \"email\"\n[[action]]\nid = \"b\"\nchannel = \"push\"\n";
    let rendered = problems(bare, Format::Toml);
    assert_eq!(rendered.matches("error[E0412]").count(), 2, "{rendered}");
}

#[test]
fn a_channel_that_needs_no_opt_in_is_declared_empty_in_toml_and_json() {
    let toml = RuleSet::parse(&classic(), Format::Toml, "classic.toml").unwrap();
    let json = RuleSet::parse(&classic_json(), Format::Json, "classic.json").unwrap();
    assert_eq!(toml.consent, json.consent);
    assert_eq!(toml.consent.open, ["in_app", "sales_task"]);
    let needs_opt_in: Vec<&str> = (toml.consent.channels.iter())
        .map(|c| c.channel.as_str())
        .collect();
    assert_eq!(needs_opt_in, ["email", "push", "sms"]);
    for action in &toml.actions {
        let channel = action.channel.as_str();
        assert!(
            toml.consent.channel(channel).is_some()
                || toml.consent.open.iter().any(|c| c == channel),
            "{channel}"
        );
    }
}

// Contradictions are load errors with their place (SPEC §4).

#[test]
fn a_validity_window_that_closes_before_it_opens_is_refused() {
    let source = classic().replace(
        "valid_until = \"2027-01-31T23:59:59Z\"",
        "valid_until = \"2026-10-31T23:59:59Z\"",
    );
    assert_ne!(source, classic());
    let rendered = problems(&source, Format::Toml);
    assert!(
        rendered.contains(
            "error[E0411]: `action.valid_until` is before `action.valid_from`: the action could never be sent"
        ),
        "{rendered}"
    );
    points_at(&rendered, &source, "\"2026-10-31");
    assert!(rendered.contains("it opens here"), "{rendered}");
    // One instant is a window: both ends are included.
    let instant = classic().replace("2027-01-31T23:59:59Z", "2026-11-01T00:00:00Z");
    RuleSet::parse(&instant, Format::Toml, "rules.toml").unwrap();
}

#[test]
fn a_cooldown_or_cap_window_of_zero_length_is_refused() {
    let source = classic()
        .replace("cooldown    = \"14d\"", "cooldown    = \"0d\"")
        .replace("per      = \"7d\"", "per      = \"0ms\"");
    let rendered = problems(&source, Format::Toml);
    assert!(
        rendered.contains("`action.cooldown` must be longer than zero, found `0d`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("`cap.per` must be longer than zero, found `0ms`"),
        "{rendered}"
    );
    points_at(&rendered, &source, "\"0d\"");
    points_at(&rendered, &source, "\"0ms\"");
}

#[test]
fn a_default_time_zone_that_is_not_an_iana_zone_is_refused_with_a_suggestion() {
    for (zone, suggestion) in [
        ("utc", Some("UTC")),
        ("europe/berlin", Some("Europe/Berlin")),
        ("Europe/Berln", Some("Europe/Berlin")),
        ("Mars/Olympus_Mons", None),
        ("+02:00", None),
    ] {
        let source = classic().replace(
            "default_timezone = \"UTC\"",
            &format!("default_timezone = \"{zone}\""),
        );
        let rendered = problems(&source, Format::Toml);
        assert!(
            rendered.contains(&format!(
                "error[E0208]: `quiet_hours.default_timezone`: unknown time zone `{zone}`"
            )),
            "{rendered}"
        );
        points_at(&rendered, &source, &format!("\"{zone}\""));
        match suggestion {
            Some(s) => assert!(
                rendered.contains(&format!("did you mean `{s}`?")),
                "{rendered}"
            ),
            None => assert!(
                rendered.contains("expected an IANA zone name"),
                "{rendered}"
            ),
        }
    }
}

#[test]
fn percentages_outside_0_to_100_are_refused() {
    let source = classic().replace("percent = 5", "percent = 101").replace(
        "valid_until = \"2027-01-31T23:59:59Z\"",
        "valid_until = \"2027-01-31T23:59:59Z\"\nholdout_percent = -1",
    );
    let rendered = problems(&source, Format::Toml);
    assert!(
        rendered.contains("`holdout.percent` must be between 0 and 100, found 101"),
        "{rendered}"
    );
    assert!(
        rendered.contains("`action.holdout_percent` must be between 0 and 100, found -1"),
        "{rendered}"
    );
    points_at(&rendered, &source, "101");
    let place = place(&source, "holdout_percent", "-1");
    assert!(rendered.contains(&format!("--> {place}")), "{rendered}");
}
