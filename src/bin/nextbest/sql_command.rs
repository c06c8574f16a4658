//! `nextbest sql`: a trigger compiled to one SQL statement for a warehouse
//! (SPEC §8), a thin shell over [`nextbest::sql::compile`].

use std::path::PathBuf;

use clap::Args;
use nextbest::sql::{self, Dialect, Now, Options, SqlError};
use nextbest::{Compiler, Timestamp};

use super::{Outcome, load_rules, report};

/// The arguments of `nextbest sql`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("trigger").required(true).args(["expr", "action"])))]
pub(crate) struct SqlArgs {
    /// The rule file whose schema the trigger is written against.
    rules: PathBuf,
    /// The SQL dialect: postgres, duckdb, spark or clickhouse.
    #[arg(long)]
    dialect: Dialect,
    /// The trigger (it may start with `-`).
    #[arg(long, allow_hyphen_values = true)]
    expr: Option<String>,
    /// The id of an action of the rule file: its trigger.
    #[arg(long)]
    action: Option<String>,
    /// The instant the statement evaluates at (RFC 3339), written into it.
    #[arg(long)]
    now: String,
    /// Select only the ids of the profiles where the trigger is TRUE,
    /// instead of every id with its verdict.
    #[arg(long)]
    audience: bool,
    /// Qualify the table names with this schema.
    #[arg(long)]
    schema: Option<String>,
}

/// Prints the statement on stdout, or says on stderr why there is none.
pub(crate) fn run(args: &SqlArgs) -> Outcome {
    let rules = load_rules(&args.rules)?;
    let now = Timestamp::parse(&args.now).map_err(|e| report(format!("--now: {e}")))?;
    let (source, origin) = match (&args.expr, &args.action) {
        (Some(expr), _) => (expr.clone(), "--expr".to_owned()),
        (None, Some(id)) => {
            let action = (rules.actions.iter())
                .find(|a| a.id == *id)
                .ok_or_else(|| {
                    let ids: Vec<&str> = rules.actions.iter().map(|a| a.id.as_str()).collect();
                    report(format!(
                        "no action `{id}` in `{}` (its actions: {})",
                        args.rules.display(),
                        ids.join(", ")
                    ))
                })?;
            let trigger = action.trigger.as_ref().ok_or_else(|| {
                report(format!(
                    "action `{id}` has no trigger (it is sent only by journeys)"
                ))
            })?;
            (trigger.source().to_owned(), format!("action `{id}`"))
        }
        (None, None) => return Err(report("give --expr or --action")),
    };
    // The evaluator's own check first, for its rendered diagnostics.
    Compiler::new(&rules.schema)
        .trigger(&source)
        .map_err(|error| {
            eprintln!("{}\n", error.render(&origin));
            report("the expression does not check")
        })?;
    let mut options = Options::new(args.dialect, Now::At(now)).audience(args.audience);
    if let Some(schema) = &args.schema {
        options = options.schema(schema.clone());
    }
    match sql::compile(&source, &rules.schema, &options) {
        Ok(statement) => {
            println!("{statement};");
            Ok(())
        }
        Err(SqlError::Refused(refusal)) => {
            eprintln!("{refusal}");
            Err(report(format!(
                "{origin} cannot run in {} exactly",
                args.dialect
            )))
        }
        Err(other) => Err(report(other)),
    }
}
