//! Event aggregates as joins, for the dialects that cannot run them as
//! correlated scalar subqueries: ClickHouse (which answers those with NULL
//! wherever an outer value is NULL) and Spark (which takes a correlated
//! scalar subquery only as an aggregate, without `ORDER BY … LIMIT`).
//!
//! Input: an aggregate node. Output: a column of a `LEFT JOIN (SELECT
//! user_id AS k, value AS a … GROUP BY user_id) AS jN ON jN.k = u.id`
//! added to the innermost query being written, and the expression that
//! reads it (COALESCE to 0 for `count`, `exists` and `sum`, which a profile
//! without events reads as NULL).
//!
//! Invariants: the subquery joins `users` again for the profile's values
//! its window and filter read, and the aggregates nested in those are
//! joined inside it; an aggregate there cannot read the enclosing
//! aggregate's event (`S0304`, see `Emitter::unbound`). Float `sum`/`avg`
//! are refused before (`S0301`).

use crate::check::ir::*;
use crate::schema::Type;
use crate::syntax::AggregateFn;

use super::super::float;
use super::{Dialect, Emitter, Sql};

impl Emitter<'_> {
    /// Whether aggregates are joined rather than correlated.
    pub(super) fn joins_aggregates(&self) -> bool {
        matches!(self.dialect, Dialect::ClickHouse | Dialect::Spark)
    }

    /// `LEFT JOIN (SELECT user_id, value … GROUP BY user_id) AS jN`, added
    /// to the innermost query being written; returns the joined column.
    fn join(
        &mut self,
        aggregate: &AggregateNode,
        value: impl FnOnce(&Self, &str) -> String,
    ) -> Sql {
        // The aggregates nested in this one's window and filter join its
        // subquery, not the statement.
        // Nor can they read the enclosing aggregate's event: the scope is
        // hidden behind a barrier while they are written.
        let scope = std::mem::take(&mut self.scope);
        let barrier = std::mem::replace(&mut self.barrier, scope.last().map(|(e, _)| *e));
        self.joins.push(Vec::new());
        let seen = self.event_conditions(aggregate);
        let nested = self.joins.pop().unwrap_or_default();
        self.barrier = barrier;
        self.scope = scope;
        let (table, alias, conditions) = seen?;
        let value = value(self, &alias);
        let n = self.fresh();
        let users = self.table("users");
        let (id, user_id) = (self.ident("id"), self.ident("user_id"));
        let nested: String = nested.iter().map(|j| format!(" {j}")).collect();
        let join = format!(
            "LEFT JOIN (SELECT {alias}.{user_id} AS k, {value} AS a FROM {table} AS {alias} \
             INNER JOIN {users} AS u ON u.{id} = {alias}.{user_id}{nested} WHERE {} \
             GROUP BY {alias}.{user_id}) AS j{n} ON j{n}.k = u.{id}",
            conditions.join(" AND ")
        );
        match self.joins.last_mut() {
            Some(frame) => frame.push(join),
            None => self.joins.push(vec![join]),
        }
        Ok(format!("j{n}.a"))
    }

    /// An event aggregate, joined (float `sum`/`avg` are refused before).
    pub(super) fn joined_aggregate(&mut self, aggregate: &AggregateNode, ty: &Type) -> Sql {
        let d = self.dialect;
        let double = float::double(d);
        let count = if d == Dialect::ClickHouse {
            "count()"
        } else {
            "count(*)"
        };
        let value = |this: &Self, alias: &str| {
            this.property(aggregate, alias)
                .unwrap_or_else(|| "NULL".to_owned())
        };
        Ok(match aggregate.function {
            AggregateFn::Count => {
                let a = self.join(aggregate, |_, _| count.to_owned())?;
                format!("CAST(coalesce({a}, 0) AS BIGINT)")
            }
            AggregateFn::Exists => {
                let a = self.join(aggregate, |_, _| count.to_owned())?;
                format!("(coalesce({a}, 0) > 0)")
            }
            AggregateFn::Sum => {
                let a = self.join(aggregate, |this, alias| {
                    format!("sum({})", this.widen(&value(this, alias)))
                })?;
                self.narrow(&format!("coalesce({a}, 0)"))
            }
            AggregateFn::Avg => self.join(aggregate, |this, alias| {
                let v = value(this, alias);
                let sum = format!("sum({})", this.widen(&v));
                // Through text: the exact sum, rounded once.
                let text = if d == Dialect::ClickHouse {
                    format!("toString({sum})")
                } else {
                    format!("CAST({sum} AS STRING)")
                };
                format!("CAST({text} AS {double}) / CAST(NULLIF(count({v}), 0) AS {double})")
            })?,
            AggregateFn::Min | AggregateFn::Max => {
                let name = if aggregate.function == AggregateFn::Min {
                    "min"
                } else {
                    "max"
                };
                self.join(aggregate, |this, alias| {
                    let v = value(this, alias);
                    let v = if *ty == Type::String {
                        this.collate(&v)
                    } else {
                        v
                    };
                    format!("{name}({v})")
                })?
            }
            AggregateFn::Last | AggregateFn::First => self.null(ty)?,
        })
    }

    /// `last(E).field` or `first(E).field`: the field of the latest (or
    /// earliest) event by `(timestamp, seq)`, inside a tuple (a struct) so
    /// that a NULL field is kept rather than skipped.
    pub(super) fn joined_event_field(
        &mut self,
        aggregate: &AggregateNode,
        field: EventField,
    ) -> Sql {
        let last = aggregate.function == AggregateFn::Last;
        let spark = self.dialect == Dialect::Spark;
        let pick = match (last, spark) {
            (true, false) => "argMax",
            (false, false) => "argMin",
            (true, true) => "max_by",
            (false, true) => "min_by",
        };
        let (timestamp, seq) = (self.ident("timestamp"), self.ident("seq"));
        self.join(aggregate, |this, alias| {
            let v = this.field_value(aggregate, field, alias);
            if spark {
                format!("{pick}(struct({v} AS f), struct({alias}.{timestamp}, {alias}.{seq})).f")
            } else {
                format!("{pick}(tuple({v}), ({alias}.{timestamp}, {alias}.{seq})).1")
            }
        })
    }
}
