//! # nextbest
//!
//! An embedded trigger-rules engine for customer journeys.
//!
//! Rule authors write **trigger expressions** over customer profiles; nextbest
//! parses them (a pest grammar), checks them against a declared [`Schema`]
//! with compiler-quality [`Diagnostic`]s, and compiles them into evaluators
//! that run close to hand-written Rust speed. The pipeline has one module per
//! stage, each knowing only the one before it:
//!
//! text → [`syntax`] (AST with spans) → `check` (typed IR, all names resolved
//! to slots) → `compile` (a tree of specialised closures) → evaluate.
//!
//! ```
//! use nextbest::{Profile, Schema, Timestamp, Trigger, Type};
//!
//! let schema = Schema::builder()
//!     .attribute("login_count_30d", Type::Int)
//!     .attribute("login_count_60d", Type::Int)
//!     .attribute("user_segment", Type::String)
//!     .build()?;
//! let churn_risk = Trigger::compile(
//!     "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'",
//!     &schema,
//! )?;
//! let profile = Profile::from_json(
//!     &schema,
//!     r#"{"id": "c-1042", "traits": {"login_count_30d": 3, "login_count_60d": 11, "user_segment": "active"}}"#,
//! )?;
//! let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
//! assert!(churn_risk.matches(&profile, now)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Decisions
//!
//! A [`RuleSet`] (TOML or JSON, see [`rules`]) declares the schema, actions,
//! consent, quiet hours, caps, holdouts and journeys; [`Engine::decide`] turns
//! one profile, its contact [`History`] and an instant into a [`Decision`]:
//! the next-best actions, each with an idempotency key, and on request every
//! candidate that did not win with its reason. Deciding never writes: the
//! caller records [`Decision::update`] in the history once the emissions
//! are safe, so a crash between the two is a resend under the same key, never
//! a lost record.
//!
//! ## Journeys and simulation
//! Journeys (entry, exit, steps counted from entry, fallback, re-entry) run
//! inside [`Engine::decide`]; where each profile stands in each journey is
//! kept in the [`History`] with the contact records, and written by the same
//! [`History::record`] call. [`simulate::Simulation`] replays one profile's
//! future step by step, deterministically; [`testing::Scenario`] wraps it in
//! assertions for rule authors' unit tests.
//!
//! ## Semantics
//! Missing data is NULL and logic is SQL's three-valued logic: a trigger fires
//! only when it is TRUE; [`Trigger::evaluate`] returns the full [`Truth`].
//! Integer arithmetic is checked (overflow gives NULL), `/` always gives a
//! float, division by zero gives NULL. `now()` is always supplied by the
//! caller: the engine never reads the clock, so evaluation is deterministic.
//!
//! ## Input safety
//! Source length, nesting depth, list length and aggregate count are bounded
//! by [`Limits`] (defaults: 64 KiB, 64 levels, 1 024 items, 32 aggregates).
//! Pathological input (100 000 nested parentheses, a megabyte of operators)
//! gets a diagnostic, never a stack overflow or a hang. Evaluation of a
//! compiled expression never panics.
//!
//! ## Errors
//! [`CompileError`] carries every [`Diagnostic`] of an expression, each with a
//! stable [`Code`] and a byte span, and renders them like rustc does.
//! [`ProfileError`] names the profile id and the field at fault.

//!
//! ## Features
//! | feature | default | what it adds | what it compiles |
//! |---|---|---|---|
//! | `durable` | on | [`history::DurableHistory`], the contact history in one embedded file | redb |
//! | `serde` | off | `Serialize` on [`Decision`], [`decide::Emission`], [`decide::Suppression`], [`Diagnostic`], [`history::Record`]…, whose JSON is the command line's; `Serialize + Deserialize` on [`Value`], [`Timestamp`], [`Duration`], [`Type`], [`Truth`] | nothing more (serde is always used inside) |
//! | `rayon` | off | [`Engine::decide_batch`]: many profiles on a thread pool | rayon |
//! | `postgres` | off | [`history::PostgresHistory`], a history shared by replicas | the `postgres` client (and tokio) |
//! | `miette` | off | `miette::Diagnostic` on [`CompileError`], [`rules::InvalidRuleSet`] and [`Diagnostic`]: snippets, labels, codes and help in a service's miette reports | miette (its protocol only) |
//! | `cli` | off | the `nextbest` command line | clap, indicatif, and all of the above |
//!
//! A service that brings its own store turns default features off:
//! `nextbest = { version = "…", default-features = false, features = ["serde"] }`.
//! The trigger parser is generated from `grammar/*.pest` ahead of time
//! (tools/gen-parser), so no build compiles pest_derive or C code.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The parser pest_generator writes without its `std` feature (see Cargo.toml)
// names `::alloc`.
extern crate alloc;

pub mod decide;
pub mod diagnostic;
pub mod forecast;
pub mod hash;
pub mod history;
pub mod report;
pub mod rules;
pub mod simulate;
pub mod sql;
pub mod syntax;
pub mod testing;

mod chart;
mod check;
mod compile;
mod exact_sum;
mod id;
mod limits;
#[cfg(feature = "miette")]
mod miette_impls;
mod profile;
mod rfc3339;
mod schema;
#[cfg(feature = "serde")]
mod serde_impls;
mod stream;
mod trigger;
mod value;

pub use check::Context;
pub use decide::{Decision, Engine, Options};
pub use diagnostic::{Code, Diagnostic, Severity};
#[cfg(feature = "durable")]
pub use history::DurableHistory;
#[cfg(feature = "postgres")]
pub use history::PostgresHistory;
pub use history::{History, MemoryHistory};
pub use id::Id;
pub use limits::Limits;
pub use profile::{Profile, ProfileBuilder, ProfileError};
pub use rules::{RuleSet, RuleSetError};
pub use schema::{
    AttributeHandle, EventSchema, Schema, SchemaBuilder, SchemaError, Type, UnknownType,
};
pub use stream::{JsonLine, JsonLines, LineError, ProfileLines};
pub use trigger::{CompileError, Compiler, EvalError, Expression, Reads, Score, Trigger};
pub use value::{Duration, InvalidDuration, InvalidTimestamp, Timestamp, Truth, Value};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Any error the crate returns: one type for a service's `?`, each
/// variant the error of one stage, kept whole (its `source()` chain too).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An expression that does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A profile that cannot be loaded.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A failure during evaluation.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// An invalid schema.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A rule set that cannot be loaded.
    #[error(transparent)]
    RuleSet(#[from] RuleSetError),
    /// A contact history that cannot be read or written.
    #[error(transparent)]
    History(#[from] history::HistoryError),
    /// A simulation that could not run.
    #[error(transparent)]
    Simulation(#[from] simulate::SimulationError),
    /// A line of a JSON-lines profile stream that could not be read.
    #[error(transparent)]
    Line(#[from] LineError),
}
