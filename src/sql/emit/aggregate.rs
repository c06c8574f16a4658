//! Event aggregates as correlated scalar subqueries over the event tables:
//! the profile's events (`user_id = u.id`) up to `now`, in the window, that
//! the filter keeps (TRUE only), with the aggregate's event bound while the
//! filter is written.

use crate::check::ir::*;
use crate::schema::Type;
use crate::syntax::AggregateFn;

use super::super::float;
use super::{Emitter, Sql, SqlError, refuse};

impl Emitter<'_> {
    // ---- aggregates ----

    /// `FROM table AS alias WHERE …`: the events of the profile that the
    /// aggregate sees, with the aggregate's event bound while its filter is
    /// written. Returns the alias too.
    fn events(&mut self, aggregate: &AggregateNode) -> Result<(String, String), SqlError> {
        let (table, alias, mut conditions) = self.event_conditions(aggregate)?;
        let (user_id, id) = (self.ident("user_id"), self.ident("id"));
        conditions.insert(0, format!("{alias}.{user_id} = u.{id}"));
        Ok((
            format!("FROM {table} AS {alias} WHERE {}", conditions.join(" AND ")),
            alias,
        ))
    }

    /// The event table, a fresh alias for it, and what an event must meet
    /// to be seen (up to `now`, in the window, kept by the filter), but not
    /// whose it is: each form says that its own way.
    pub(super) fn event_conditions(
        &mut self,
        aggregate: &AggregateNode,
    ) -> Result<(String, String, Vec<String>), SqlError> {
        let Some((name, _)) = self.schema.event_at(aggregate.event) else {
            return Err(refuse(
                "S0105",
                "an unknown event",
                self.dialect,
                "not in the schema",
            ));
        };
        let alias = format!("e{}", self.fresh());
        let ts = self.column(&alias, "timestamp", &Type::Timestamp);
        let now = self.now();
        let mut conditions = vec![format!("{ts} <= {now}")];
        match &aggregate.window {
            WindowNode::All => {}
            WindowNode::Within(duration) => {
                let duration = self.expr(duration)?;
                conditions.push(format!(
                    "{ts} > {} - {}",
                    self.widen(&now),
                    self.widen(&duration)
                ));
            }
            WindowNode::Since(start) => {
                conditions.push(format!("{ts} >= {}", self.expr(start)?));
            }
        }
        if let Some(filter) = &aggregate.filter {
            self.scope.push((aggregate.event, alias.clone()));
            let filter = self.bool_expr(filter);
            self.scope.pop();
            conditions.push(format!("({}) IS TRUE", filter?));
        }
        Ok((self.table(name), alias, conditions))
    }

    pub(super) fn property(&self, aggregate: &AggregateNode, alias: &str) -> Option<String> {
        let (_, event) = self.schema.event_at(aggregate.event)?;
        let name = event.name(aggregate.property?)?;
        Some(self.column(alias, name, &aggregate.property_type))
    }

    pub(super) fn aggregate(&mut self, aggregate: &AggregateNode, ty: &Type) -> Sql {
        let d = self.dialect;
        let what = match aggregate.function {
            AggregateFn::Sum => "sum",
            AggregateFn::Avg => "avg",
            _ => "",
        };
        if !what.is_empty() && aggregate.property_type == Type::Float {
            return Err(refuse(
                "S0301",
                &format!("{what}(…) of a float property"),
                d,
                "the engine adds floats one rounding at a time in an order of its own; \
                 nextbest adds them exactly and rounds once",
            ));
        }
        if self.joins_aggregates() {
            return self.joined_aggregate(aggregate, ty);
        }
        let (from, alias) = self.events(aggregate)?;
        let property = self.property(aggregate, &alias);
        let value = property.clone().unwrap_or_else(|| "NULL".to_owned());
        Ok(match aggregate.function {
            AggregateFn::Count => format!("(SELECT count(*) {from})"),
            AggregateFn::Exists => format!("EXISTS (SELECT 1 {from})"),
            AggregateFn::Sum => {
                let total = format!("COALESCE(sum({}), 0)", self.widen(&value));
                format!("(SELECT {} {from})", self.narrow(&total))
            }
            AggregateFn::Avg => {
                let double = float::double(d);
                let total = if self.pg() {
                    format!("CAST(sum({}) AS {double})", self.widen(&value))
                } else {
                    // Through text: the engine's own conversion of a 128-bit
                    // integer may round twice.
                    format!(
                        "CAST(CAST(sum({}) AS VARCHAR) AS {double})",
                        self.widen(&value)
                    )
                };
                format!("(SELECT {total} / CAST(NULLIF(count({value}), 0) AS {double}) {from})")
            }
            AggregateFn::Min | AggregateFn::Max => {
                let name = if aggregate.function == AggregateFn::Min {
                    "min"
                } else {
                    "max"
                };
                let value = if *ty == Type::String {
                    self.collate(&value)
                } else {
                    value
                };
                format!("(SELECT {name}({value}) {from})")
            }
            AggregateFn::Last | AggregateFn::First => self.null(ty)?,
        })
    }

    pub(super) fn event_field(&mut self, aggregate: &AggregateNode, field: EventField) -> Sql {
        if self.joins_aggregates() {
            return self.joined_event_field(aggregate, field);
        }
        let (from, alias) = self.events(aggregate)?;
        let value = self.field_value(aggregate, field, &alias);
        let order = if aggregate.function == AggregateFn::Last {
            "DESC"
        } else {
            "ASC"
        };
        let (timestamp, seq) = (self.ident("timestamp"), self.ident("seq"));
        Ok(format!(
            "(SELECT {value} {from} ORDER BY {alias}.{timestamp} {order}, {alias}.{seq} {order} LIMIT 1)"
        ))
    }

    /// The field `last(E)` or `first(E)` reads, of the event aliased `alias`.
    pub(super) fn field_value(
        &self,
        aggregate: &AggregateNode,
        field: EventField,
        alias: &str,
    ) -> String {
        match field {
            EventField::Timestamp => self.column(alias, "timestamp", &Type::Timestamp),
            EventField::Property(slot) => {
                let property = self
                    .schema
                    .event_at(aggregate.event)
                    .and_then(|(_, e)| e.name(slot).and_then(|n| e.get(n)).map(|(_, t)| t))
                    .cloned();
                let name = self
                    .schema
                    .event_at(aggregate.event)
                    .and_then(|(_, e)| e.name(slot));
                match (name, property) {
                    (Some(name), Some(ty)) => self.column(alias, name, &ty),
                    _ => "NULL".to_owned(),
                }
            }
        }
    }
}
