//! Stage 1, syntax: source text → [`Expr`], an AST with byte spans.
//!
//! Input: the text of one trigger expression. Output: its tree, or every
//! syntax diagnostic found. Invariants: the tree's nesting depth is within the
//! configured [`Limits`](crate::Limits); pest's types never leave this module;
//! `parse(&expr.to_string())` gives back a tree with the same
//! [`dump`](Expr::dump); the fast path and the full grammar give the same
//! tree, spans included, on every input the fast path does not decline.

mod ast;
mod fast;
#[cfg(test)]
mod fast_tests;
mod parse;
// Generated (tools/gen-parser): formatted by its generator, not linted.
#[rustfmt::skip]
#[allow(dead_code, clippy::all, clippy::pedantic, clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod parser;
mod print;
mod syntax_error;

pub use ast::*;
pub use parse::{HARD_MAX_DEPTH, parse, parse_with};
