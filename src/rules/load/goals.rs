//! `goal` and `goal_window` on actions and journeys: what a report counts
//! as a conversion (SPEC §10). The two keys come together: a goal without a
//! window could never be measured, and a window without a goal measures
//! nothing, so either alone is a load error pointing at the one present.

use super::Loader;
use super::read::Fields;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::doc::Doc;
use crate::rules::model::Goal;
use crate::trigger::Compiler;

impl Loader<'_> {
    /// The goal of an action or journey (`owner` names which, for
    /// messages): `Some(None)` when it declares none, `None` when what it
    /// declares has problems (already reported).
    pub(super) fn goal(
        &mut self,
        fields: &Fields<'_>,
        table: &Doc,
        owner: &str,
        compiler: &Compiler<'_>,
    ) -> Option<Option<Goal>> {
        let goal_what = format!("`{owner}.goal`");
        let window_what = format!("`{owner}.goal_window`");
        let trigger = fields
            .get("goal")
            .map(|d| self.trigger(d, &goal_what, compiler));
        let window = fields
            .get("goal_window")
            .map(|d| self.window(d, &window_what));
        match (trigger, window) {
            (None, None) => Some(None),
            (Some(trigger), Some(window)) => Some(Some(Goal {
                trigger: trigger?,
                window: window?,
            })),
            (Some(_), None) => {
                let at = fields.get("goal").map_or(table.span, |d| d.span);
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("{goal_what} needs a `goal_window`"),
                        at,
                    )
                    .with_label("add `goal_window = \"7d\"` (how long after a send it counts)"),
                );
                None
            }
            (None, Some(_)) => {
                let at = fields.get("goal_window").map_or(table.span, |d| d.span);
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("{window_what} is set without a `goal`"),
                        at,
                    )
                    .with_label("a window needs the goal expression it measures"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::{Format, RuleSet, RuleSetError};
    use crate::value::Duration;

    const HEAD: &str = "[schema.traits]\nx = \"int\"\n[schema.events]\npurchase = {}\n\
                        [consent]\nemail = {}\n";

    fn load(tail: &str) -> Result<RuleSet, String> {
        RuleSet::parse(&format!("{HEAD}{tail}"), Format::Toml, "rules.toml").map_err(|e| match e {
            RuleSetError::Invalid(invalid) => invalid.render(false),
            other => other.to_string(),
        })
    }

    #[test]
    fn actions_and_journeys_declare_goals() {
        let rules = load(
            "[[action]]\nid = \"a\"\nchannel = \"email\"\n\
             goal = \"exists(purchase WITHIN 7d)\"\ngoal_window = \"7d\"\n\
             [[journey]]\nid = \"j\"\nentry = \"x > 0\"\nsteps = [{ after = \"0d\", action = \"a\" }]\n\
             goal = \"count(purchase WITHIN 30d) > 1\"\ngoal_window = \"14d\"\n",
        )
        .unwrap();
        let goal = rules.actions[0].goal.as_ref().unwrap();
        assert_eq!(goal.trigger.source(), "exists(purchase WITHIN 7d)");
        assert_eq!(goal.window, Duration::parse("7d").unwrap());
        let journey_goal = rules.journeys[0].goal.as_ref().unwrap();
        assert_eq!(journey_goal.window, Duration::parse("14d").unwrap());
    }

    #[test]
    fn json_rule_files_declare_goals_the_same_way() {
        let source = r#"{"schema": {"traits": {"x": "int"}}, "consent": {"email": {}},
            "action": [{"id": "a", "channel": "email", "goal": "x > 1", "goal_window": "2d"}]}"#;
        let rules = RuleSet::parse(source, Format::Json, "rules.json").unwrap();
        assert_eq!(
            rules.actions[0].goal.as_ref().unwrap().window,
            Duration::parse("2d").unwrap()
        );
    }

    #[test]
    fn a_goal_is_checked_like_a_trigger_with_its_place() {
        let error = load(
            "[[action]]\nid = \"a\"\nchannel = \"email\"\ngoal = \"exists(purchse WITHIN 7d)\"\n\
             goal_window = \"7d\"\n",
        )
        .unwrap_err();
        assert!(error.contains("--> rules.toml:10:16"), "{error}");
        assert!(error.contains("purchse"), "{error}");
    }

    #[test]
    fn a_goal_and_its_window_come_together() {
        let error =
            load("[[action]]\nid = \"a\"\nchannel = \"email\"\ngoal = \"x > 1\"\n").unwrap_err();
        assert!(
            error.contains("`action.goal` needs a `goal_window`"),
            "{error}"
        );
        assert!(error.contains("rules.toml:10:8"), "{error}");
        let error =
            load("[[journey]]\nid = \"j\"\nentry = \"x > 0\"\nsteps = []\ngoal_window = \"7d\"\n")
                .unwrap_err();
        assert!(
            error.contains("`journey.goal_window` is set without a `goal`"),
            "{error}"
        );
    }

    #[test]
    fn a_goal_window_is_a_positive_duration() {
        let error = load(
            "[[action]]\nid = \"a\"\nchannel = \"email\"\ngoal = \"x > 1\"\ngoal_window = \"0d\"\n",
        )
        .unwrap_err();
        assert!(
            error.contains("`action.goal_window` must be longer than zero"),
            "{error}"
        );
        let error = load(
            "[[action]]\nid = \"a\"\nchannel = \"email\"\ngoal = \"x > 1\"\ngoal_window = \"soon\"\n",
        )
        .unwrap_err();
        assert!(error.contains("`action.goal_window`"), "{error}");
    }
}
