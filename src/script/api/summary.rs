//! A runbook's closing report: `run_summary()` gathers what the run did (the API outage,
//! the time since the masters returned, every step's time and phase, the backups, the
//! journal, the rollback command), and `summary(text, data)` makes the run's result: the
//! text for people, the data for `--output json`.

use super::views::saturating_i64;
use crate::journal::history::StepTime;
use crate::ops::master::outage::{timestamp, ApiOutage};
use crate::script::context::RunContext;
use crate::script::runbooks;
use crate::transport::shell_quote;
use chrono::{DateTime, SubsecRound, Utc};
use rhai::{Array, Dynamic, Map};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// The result `summary(text, data)` makes.
#[derive(Debug, Clone)]
pub struct Summary {
    pub text: String,
    pub data: Dynamic,
}

#[derive(Serialize)]
struct OutageView {
    seconds: f64,
    stopped_at: String,
    restarted_at: Option<String>,
}

#[derive(Serialize)]
struct StepView {
    name: String,
    seconds: f64,
    /// `before` the masters stopped, during the `outage`, or `online` after they returned.
    phase: &'static str,
}

#[derive(Serialize)]
struct BackupView<'a> {
    host: &'a str,
    dir: &'a str,
    method: &'a str,
    files: i64,
    bytes: i64,
}

#[derive(Serialize)]
struct SummaryView<'a> {
    outage: Option<OutageView>,
    /// Seconds from the masters' return to now.
    online_seconds: Option<f64>,
    steps: Vec<StepView>,
    backups: Vec<BackupView<'a>>,
    journal: Option<String>,
    rollback: String,
}

/// Which part of the run a step belongs to.
fn phase(step: &StepTime, outage: Option<&ApiOutage>) -> &'static str {
    let Some(outage) = outage else {
        return "before";
    };
    let Ok(started) = DateTime::parse_from_rfc3339(&step.started) else {
        return "before";
    };
    let started = started.with_timezone(&Utc);
    let ended = started + chrono::Duration::milliseconds((step.seconds * 1000.0) as i64);
    // The journal keeps milliseconds: a step that began in the millisecond the masters
    // returned reads as begun before it unless both sides are cut to milliseconds.
    let to_millis = |at: DateTime<Utc>| at.trunc_subsecs(3);
    if ended <= to_millis(outage.stopped_at) {
        "before"
    } else if outage
        .restarted_at
        .is_some_and(|at| started >= to_millis(at))
    {
        "online"
    } else {
        "outage"
    }
}

/// `runbook run <rollback.rhai> <this run's options>`.
fn rollback_command(ctx: &RunContext) -> String {
    let path = runbooks::resolve(Path::new("rollback.rhai"))
        .and_then(|p| std::path::absolute(p).ok())
        .map(|p| shell_quote(&p.display().to_string()))
        .unwrap_or_else(|| "rollback.rhai".to_string());
    format!("runbook run {path}{}", ctx.steps.run_options())
}

fn run_summary(ctx: &RunContext) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
    let now = Utc::now();
    let facts = ctx.facts();
    let outage = facts.api_outage().cloned();
    let steps = ctx
        .steps
        .journal()
        .and_then(|j| j.history().ok())
        .map(|h| h.step_times())
        .unwrap_or_default();
    let view = SummaryView {
        outage: outage.as_ref().map(|o| OutageView {
            seconds: o.seconds(now),
            stopped_at: timestamp(o.stopped_at),
            restarted_at: o.restarted_at.map(timestamp),
        }),
        online_seconds: outage
            .as_ref()
            .and_then(|o| o.restarted_at)
            .map(|at| (now - at).num_milliseconds().max(0) as f64 / 1000.0),
        steps: steps
            .iter()
            .map(|s| StepView {
                name: s.name.clone(),
                seconds: s.seconds,
                phase: phase(s, outage.as_ref()),
            })
            .collect(),
        backups: facts
            .backups()
            .iter()
            .map(|b| BackupView {
                host: &b.host,
                dir: &b.dir,
                method: b.method.as_str(),
                files: saturating_i64(b.files),
                bytes: saturating_i64(b.bytes),
            })
            .collect(),
        journal: ctx.steps.journal().map(|j| {
            std::path::absolute(j.path())
                .unwrap_or_else(|_| j.path().to_path_buf())
                .display()
                .to_string()
        }),
        rollback: rollback_command(ctx),
    };
    rhai::serde::to_dynamic(view)
}

/// Registers `run_summary()` and `summary(text, data)`.
pub fn register(engine: &mut rhai::Engine, ctx: Arc<RunContext>) {
    engine.register_type_with_name::<Summary>("Summary");
    engine.register_fn("run_summary", move || run_summary(&ctx));
    engine.register_fn("summary", |text: &str, data: Map| Summary {
        text: text.to_string(),
        data: data.into(),
    });
    engine.register_fn("summary", |text: &str, data: Array| Summary {
        text: text.to_string(),
        data: data.into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(started: &str, seconds: f64) -> StepTime {
        StepTime {
            name: "a step".to_string(),
            started: started.to_string(),
            seconds,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_step_is_placed_by_the_outage_at_the_journals_millisecond_precision() {
        let outage = ApiOutage {
            stopped_at: at("2026-12-01T19:07:12.628400Z"),
            restarted_at: Some(at("2026-12-01T19:08:49.131456Z")),
        };
        let phase_of = |started, seconds| phase(&step(started, seconds), Some(&outage));
        assert_eq!(phase_of("2026-12-01T19:07:11.700+00:00", 0.9), "before");
        assert_eq!(phase_of("2026-12-01T19:07:12.600+00:00", 0.2), "outage");
        assert_eq!(phase_of("2026-12-01T19:08:48.040+00:00", 1.09), "outage");
        // Begun in the millisecond the masters returned in (journaled as .131).
        assert_eq!(phase_of("2026-12-01T19:08:49.131+00:00", 53.2), "online");
        assert_eq!(phase_of("2026-12-01T20:08:49.131+01:00", 53.2), "online");
        // No outage recorded: everything ran before one.
        assert_eq!(
            phase(&step("2026-12-01T19:08:50.000+00:00", 1.0), None),
            "before"
        );
    }
}
