//! Stage 3, compile: typed IR → a tree of closures, the evaluator.
//!
//! Input: a checked [`Node`] tree. Output: a [`Program`], one boxed closure per
//! node, each specialised for its static type (`Truth`, `Option<i64>`,
//! `Option<f64>`, borrowed strings, borrowed lists), so evaluation performs no
//! type dispatch, no name lookup, no allocation and no string copy for the
//! operations triggers are made of. Common shapes (an attribute compared with a
//! constant, a constant factor, a property test inside an aggregate) are fused
//! into a single closure.
//!
//! Invariants: evaluation never panics and always terminates (loops are
//! bounded by the profile's event counts); NULL propagates by SQL's rules.

mod aggregate;
mod functions;
#[cfg(test)]
mod number_tests;
mod pred;
#[cfg(test)]
mod reference;
mod scalar;
#[cfg(test)]
pub(crate) mod tests;

use std::borrow::Cow;

use crate::check::ir::*;
use crate::profile::Profile;
use crate::schema::Type;
use crate::value::{Duration, Timestamp, Truth, Value};
use pred::{CmpMask, Cond, FloatLeaf, FloatOperand, IntOperand, NumAttr, Pred, StrKey, StrOperand};

/// What evaluation reads: the profile, the instant, and the bindings of the
/// enclosing aggregate and journey.
pub(crate) struct Env<'a> {
    pub profile: &'a Profile,
    pub consts: &'a [Value],
    pub now: i64,
    /// The index of the event bound by the innermost aggregate.
    pub event: usize,
    pub entered_at: Option<i64>,
}

impl Env<'_> {
    /// The same environment with another event bound.
    fn at_event(&self, event: usize) -> Self {
        Env { event, ..*self }
    }
}

pub(crate) type BoolFn = Box<dyn Fn(&Env<'_>) -> Truth + Send + Sync>;
pub(crate) type IntFn = Box<dyn Fn(&Env<'_>) -> Option<i64> + Send + Sync>;
pub(crate) type FloatFn = Box<dyn Fn(&Env<'_>) -> Option<f64> + Send + Sync>;
pub(crate) type StrFn = Box<dyn for<'a> Fn(&Env<'a>) -> Option<Cow<'a, str>> + Send + Sync>;
pub(crate) type ListFn = Box<dyn for<'a> Fn(&Env<'a>) -> Option<Cow<'a, [Value]>> + Send + Sync>;

// Constructors that pin each closure's signature, higher-ranked lifetimes included.
fn bool_fn(f: impl Fn(&Env<'_>) -> Truth + Send + Sync + 'static) -> BoolFn {
    Box::new(f)
}
fn int_fn(f: impl Fn(&Env<'_>) -> Option<i64> + Send + Sync + 'static) -> IntFn {
    Box::new(f)
}
fn float_fn(f: impl Fn(&Env<'_>) -> Option<f64> + Send + Sync + 'static) -> FloatFn {
    Box::new(f)
}
fn str_fn(f: impl for<'a> Fn(&Env<'a>) -> Option<Cow<'a, str>> + Send + Sync + 'static) -> StrFn {
    Box::new(f)
}
fn list_fn(
    f: impl for<'a> Fn(&Env<'a>) -> Option<Cow<'a, [Value]>> + Send + Sync + 'static,
) -> ListFn {
    Box::new(f)
}

/// A compiled node of any type.
pub(crate) enum Compiled {
    Null,
    Bool(Cond),
    /// Ints, and timestamps and durations as microseconds.
    Int(IntFn, IntKind),
    Float(FloatFn),
    Str(StrFn),
    List(ListFn),
}

/// What an `i64` stands for, to turn it back into a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntKind {
    Int,
    Timestamp,
    Duration,
}

impl Compiled {
    /// Evaluates to a [`Value`] (allocates for computed strings and lists).
    pub(crate) fn value(&self, env: &Env<'_>) -> Value {
        match self {
            Compiled::Null => Value::Null,
            Compiled::Bool(p) => p.eval(env).to_option().into(),
            Compiled::Int(f, kind) => f(env).map_or(Value::Null, |i| int_value(i, *kind)),
            Compiled::Float(f) => f(env).into(),
            Compiled::Str(f) => f(env).map_or(Value::Null, |s| Value::String(s.as_ref().into())),
            Compiled::List(f) => f(env).map_or(Value::Null, |l| Value::List(l.as_ref().into())),
        }
    }

    /// Whether the node evaluates to NULL.
    pub(crate) fn is_null(&self, env: &Env<'_>) -> bool {
        match self {
            Compiled::Null => true,
            Compiled::Bool(p) => p.eval(env) == Truth::Unknown,
            Compiled::Int(f, _) => f(env).is_none(),
            Compiled::Float(f) => f(env).is_none(),
            Compiled::Str(f) => f(env).is_none(),
            Compiled::List(f) => f(env).is_none(),
        }
    }
}

pub(crate) fn int_value(i: i64, kind: IntKind) -> Value {
    match kind {
        IntKind::Int => Value::Int(i),
        IntKind::Timestamp => Value::Timestamp(Timestamp::from_micros(i)),
        IntKind::Duration => Value::Duration(Duration::from_micros(i)),
    }
}

/// An `i64` view of int-like values.
pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Timestamp(t) => Some(t.as_micros()),
        Value::Duration(d) => Some(d.as_micros()),
        _ => None,
    }
}

/// A compiled expression and the constants its closures refer to.
pub(crate) struct Program {
    root: Compiled,
    consts: Vec<Value>,
}

impl Program {
    pub(crate) fn new(root: &Node) -> Self {
        let mut compiler = Compiler { consts: Vec::new() };
        let root = compiler.any(root);
        Program {
            root,
            consts: compiler.consts,
        }
    }

    fn env<'a>(
        &'a self,
        profile: &'a Profile,
        now: Timestamp,
        entered_at: Option<Timestamp>,
    ) -> Env<'a> {
        Env {
            profile,
            consts: &self.consts,
            now: now.as_micros(),
            event: 0,
            entered_at: entered_at.map(Timestamp::as_micros),
        }
    }

    /// Evaluates a bool program.
    pub(crate) fn truth(
        &self,
        profile: &Profile,
        now: Timestamp,
        entered_at: Option<Timestamp>,
    ) -> Truth {
        let env = self.env(profile, now, entered_at);
        match &self.root {
            Compiled::Bool(cond) => cond.eval_root(&env),
            _ => Truth::Unknown,
        }
    }

    /// Evaluates a numeric program as a float.
    pub(crate) fn number(
        &self,
        profile: &Profile,
        now: Timestamp,
        entered_at: Option<Timestamp>,
    ) -> Option<f64> {
        let env = self.env(profile, now, entered_at);
        match &self.root {
            Compiled::Float(f) => f(&env),
            #[allow(clippy::cast_precision_loss)]
            Compiled::Int(f, IntKind::Int) => f(&env).map(|i| i as f64),
            _ => None,
        }
    }

    /// Evaluates to a value of any type.
    pub(crate) fn value(
        &self,
        profile: &Profile,
        now: Timestamp,
        entered_at: Option<Timestamp>,
    ) -> Value {
        self.root.value(&self.env(profile, now, entered_at))
    }
}

struct Compiler {
    consts: Vec<Value>,
}

impl Compiler {
    /// Stores a constant for closures to borrow, returning its index.
    fn intern(&mut self, value: Value) -> usize {
        self.consts.push(value);
        self.consts.len() - 1
    }

    fn any(&mut self, node: &Node) -> Compiled {
        match &node.ty {
            Type::Null => Compiled::Null,
            Type::Bool => Compiled::Bool(self.boolean(node).finish()),
            Type::Int => Compiled::Int(self.int(node), IntKind::Int),
            Type::Timestamp => Compiled::Int(self.int(node), IntKind::Timestamp),
            Type::Duration => Compiled::Int(self.int(node), IntKind::Duration),
            Type::Float => Compiled::Float(self.float(node)),
            Type::String => Compiled::Str(self.string(node)),
            Type::List(_) => Compiled::List(self.list(node)),
        }
    }
}

/// The value of the attribute in `slot`, or of the bound event's property.
fn read<'a>(env: &Env<'a>, source: Source) -> &'a Value {
    match source {
        Source::Attribute(slot) => env.profile.attribute_slot(slot),
        Source::Property { event, slot } => env
            .profile
            .events_of(event)
            .and_then(|columns| columns.properties.get(slot))
            .and_then(|column| column.get(env.event))
            .unwrap_or(&Value::Null),
    }
}

/// Where a leaf reads its value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    Attribute(usize),
    Property { event: usize, slot: usize },
}

fn source(node: &Node) -> Option<Source> {
    match node.kind {
        NodeKind::Attribute(slot) => Some(Source::Attribute(slot)),
        NodeKind::Property { event, slot } => Some(Source::Property { event, slot }),
        _ => None,
    }
}
