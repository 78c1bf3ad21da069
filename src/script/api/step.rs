//! `step("name", || { ... })`: a named, timed, journaled part of a runbook.

use super::error::to_rhai;
use super::options::Options;
use crate::journal::Decision;
use crate::script::context::RunContext;
use crate::script::diagnostics::short_message;
use crate::script::step_prompt::StepAnswer;
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext};
use std::sync::Arc;
use std::time::Instant;

/// Registers `step(name, closure)` and `step(name, #{always}, closure)`.
pub fn register(engine: &mut rhai::Engine, ctx: Arc<RunContext>) {
    let plain = ctx.clone();
    engine.register_fn(
        "step",
        move |call: NativeCallContext,
              name: &str,
              body: FnPtr|
              -> Result<Dynamic, Box<EvalAltResult>> {
            run_step(&plain, &call, name, false, &body)
        },
    );
    engine.register_fn(
        "step",
        move |call: NativeCallContext,
              name: &str,
              options: Map,
              body: FnPtr|
              -> Result<Dynamic, Box<EvalAltResult>> {
            let always = Options::new("step", &options, &["always"])?
                .bool("always")?
                .unwrap_or(false);
            run_step(&ctx, &call, name, always, &body)
        },
    );
}

fn run_step(
    ctx: &RunContext,
    call: &NativeCallContext,
    name: &str,
    always: bool,
    body: &FnPtr,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let steps = &ctx.steps;
    let key = match steps.begin(name, always) {
        Decision::Skip { key, result, why } => {
            ctx.reporter.event(
                "step_skipped",
                serde_json::json!({"step": key, "why": why, "message": format!("--- step {key}: skipped ({why})")}),
            );
            steps
                .record(crate::journal::EventKind::StepSkipped, Some(&key), |_| {})
                .map_err(to_rhai)?;
            return match result {
                Some(value) => rhai::serde::to_dynamic(value),
                None => Ok(Dynamic::UNIT),
            };
        }
        Decision::Run { key } => key,
    };
    if ctx.step_prompt.before_step(&key) == StepAnswer::Skip {
        ctx.reporter.event(
            "step_skipped",
            serde_json::json!({"step": key, "why": "declined", "message": format!("--- step {key}: skipped (declined)")}),
        );
        steps
            .record(crate::journal::EventKind::StepSkipped, Some(&key), |_| {})
            .map_err(to_rhai)?;
        return Ok(Dynamic::UNIT);
    }
    ctx.reporter.event(
        "step_started",
        serde_json::json!({"step": key, "message": format!("==> step {key}")}),
    );
    steps
        .record(crate::journal::EventKind::StepStarted, Some(&key), |_| {})
        .map_err(to_rhai)?;
    let started = Instant::now();
    ctx.changes.set_step(Some(key.clone()));
    ctx.reporter.step_started(&key);
    let outcome = body.call_within_context::<Dynamic>(call, ());
    ctx.reporter.step_ended();
    ctx.changes.set_step(None);
    let elapsed = started.elapsed();
    let seconds = elapsed.as_secs_f64();
    match outcome {
        Ok(value) => {
            let result = super::row::to_json(&value).ok().filter(|v| !v.is_null());
            let facts = serde_json::to_value(&*ctx.facts.lock().unwrap_or_else(|e| e.into_inner()))
                .ok()
                .filter(|facts| facts.as_object().is_none_or(|f| !f.is_empty()));
            steps
                .step_ended(&key, elapsed, Ok(result), facts)
                .map_err(to_rhai)?;
            ctx.reporter.event(
                "step_finished",
                serde_json::json!({"step": key, "seconds": seconds, "message": format!("<== step {key}: done in {seconds:.1}s")}),
            );
            Ok(value)
        }
        Err(error) => {
            let first_line = short_message(&error);
            steps
                .step_ended(&key, elapsed, Err(first_line), None)
                .map_err(to_rhai)?;
            ctx.reporter.event(
                "step_failed",
                serde_json::json!({"step": key, "seconds": seconds, "message": format!("<== step {key}: FAILED after {seconds:.1}s")}),
            );
            if let Some(next) = crate::script::next_command::after_failure(&key, &error, steps) {
                ctx.reporter.status(&next);
            }
            Err(error)
        }
    }
}
