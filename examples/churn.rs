//! The churn-risk trigger (E1) over the bundled profiles: compile it once,
//! stream the profiles file, print who matches.
//!
//! ```text
//! cargo run --release --example churn [-- PROFILES.jsonl [NOW]]
//! ```

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader};

use nextbest::{EventSchema, Profile, Schema, Timestamp, Trigger, Truth, Type};

const CHURN_RISK: &str = "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'";

fn schema() -> Result<Schema, nextbest::SchemaError> {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("login_count_60d", Type::Int)
        .attribute("user_segment", Type::String)
        .attribute("lifetime_value", Type::Float)
        .attribute("country", Type::String)
        .attribute("cart_items", Type::Int)
        .attribute("email_opt_in", Type::Bool)
        .attribute("last_login", Type::Timestamp)
        .attribute("timezone", Type::String)
        .event(
            "page_view",
            EventSchema::new().property("path", Type::String),
        )
        .event(
            "purchase",
            EventSchema::new()
                .property("amount", Type::Float)
                .property("product_id", Type::String),
        )
        .build()
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/profiles.jsonl").to_owned()
    });
    let now = Timestamp::parse(
        &args
            .next()
            .unwrap_or_else(|| "2026-11-24T09:00:00Z".to_owned()),
    )?;

    let schema = schema()?;
    let trigger = Trigger::compile(CHURN_RISK, &schema)?;
    println!("trigger: {}", trigger.source());
    println!("reads:   {:?}", trigger.reads().attributes);
    println!("now:     {now}\n");

    let (mut total, mut matched, mut unknown) = (0, 0, 0);
    for (number, line) in BufReader::new(File::open(&path)?).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let profile = Profile::from_json(&schema, &line)
            .map_err(|e| format!("{path}:{}: {e}", number + 1))?;
        total += 1;
        match trigger.evaluate(&profile, now)? {
            Truth::True => {
                matched += 1;
                println!("{}\tat churn risk", profile.id());
            }
            Truth::Unknown => unknown += 1,
            Truth::False => {}
        }
    }
    println!("\n{matched} of {total} profiles match ({unknown} unknown for missing data)");
    Ok(())
}
