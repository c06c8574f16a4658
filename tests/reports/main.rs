//! Reports and forecasts (issue 17, SPEC §10): figures against a history
//! worked out by hand, the command line as a user drives it, and the HTML
//! pages opened in a real headless browser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "cli")]
#[path = "../common/mod.rs"]
mod common;

mod browser;
#[cfg(feature = "cli")]
mod cli;
mod fixture;
mod funnel_props;
mod library;
#[cfg(feature = "cli")]
mod postgres;
