//! Functions every runbook needs around the primitives: the time (`now_utc`, `timestamp`),
//! quoting for shell commands, JSON in and out, a wait that Ctrl-C ends at once, and
//! `fail`, the operator-facing error.

use super::error::ScriptError;
use crate::duration::{format_duration, parse_duration};
use crate::script::context::RunContext;
use chrono::format::{Item, StrftimeItems};
use rhai::{Dynamic, EvalAltResult};
use std::sync::Arc;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The code of what `fail(message)` raises: diagnostics show it without a caret.
pub const FAIL_CODE: &str = "runbook::failed";

/// Registers the utility functions.
pub fn register(engine: &mut rhai::Engine, ctx: Arc<RunContext>) {
    engine.register_fn("now_utc", now_utc);
    engine.register_fn("timestamp", timestamp);
    engine.register_fn("shell_quote", |text: &str| {
        crate::transport::shell_quote(text)
    });
    engine.register_fn("parse_json", parse_json);
    engine.register_fn("to_json", to_json);
    engine.register_fn("fail", |message: &str| -> RhaiResult<()> {
        Err(ScriptError::new(message, FAIL_CODE, None).into_rhai())
    });
    engine.register_fn("fail", |message: &str, help: &str| -> RhaiResult<()> {
        Err(ScriptError::new(message, FAIL_CODE, Some(help.to_string())).into_rhai())
    });
    engine.register_fn("wait", move |duration: &str| wait(&ctx, duration));
}

/// Now, in UTC, as RFC 3339 with seconds: `2026-12-02T13:20:05Z`.
fn now_utc() -> String {
    chrono::Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .to_string()
}

/// Now, in UTC, formatted with strftime's `%` specifiers: `timestamp("%Y%m%d-%H%M%S")`.
fn timestamp(format: &str) -> RhaiResult<String> {
    let items: Vec<Item> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(ScriptError::new(
            format!("`{format}` is not a strftime format"),
            "runbook::timestamp_format",
            Some("use strftime specifiers such as %Y %m %d %H %M %S (\"%Y%m%d-%H%M%S\"); write %% for a percent sign".into()),
        )
        .into_rhai());
    }
    Ok(chrono::Utc::now()
        .format_with_items(items.into_iter())
        .to_string())
}

/// A JSON text as Rhai values: objects become maps, arrays arrays, null `()`.
fn parse_json(text: &str) -> RhaiResult<Dynamic> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        ScriptError::new(
            format!(
                "not JSON at line {}, column {}: {error}",
                error.line(),
                error.column()
            ),
            "runbook::json",
            Some(
                "parse_json reads one JSON value; print the text to see what the command gave"
                    .into(),
            ),
        )
        .into_rhai()
    })?;
    rhai::serde::to_dynamic(value)
}

/// A value as compact JSON (maps with their keys sorted; `()` is null).
fn to_json(value: Dynamic) -> RhaiResult<String> {
    let json = super::row::to_json(&value).map_err(|error| {
        ScriptError::new(
            format!("a {} cannot be written as JSON: {error}", value.type_name()),
            "runbook::json",
            Some("pass maps, arrays, strings, numbers, booleans or ()".into()),
        )
        .into_rhai()
    })?;
    Ok(json.to_string())
}

/// Sleeps for `duration` ("10s", "2m"); Ctrl-C ends the wait, and the run, at once. In
/// `check`, after a planned change, the wait is only planned.
fn wait(ctx: &RunContext, duration: &str) -> RhaiResult<()> {
    let length = parse_duration(duration).map_err(|error| {
        ScriptError::new(
            format!("wait(\"{duration}\"): {error}"),
            super::options::OPTION,
            Some("give a duration such as \"10s\", \"2m\" or \"1h30m\"".into()),
        )
        .into_rhai()
    })?;
    if ctx.planned_read(|| format!("wait {}", format_duration(length))) {
        return Ok(());
    }
    let token = ctx.cancel.token();
    let finished = ctx.runtime.block_on(async {
        tokio::select! {
            _ = tokio::time::sleep(length) => true,
            _ = token.cancelled() => false,
        }
    });
    if finished {
        Ok(())
    } else {
        Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::UNIT,
            rhai::Position::NONE,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_follow_the_format_and_refuse_a_broken_one() {
        let stamp = timestamp("%Y%m%d-%H%M%S").unwrap();
        assert_eq!(stamp.len(), 15, "{stamp}");
        assert!(stamp[..8].chars().all(|c| c.is_ascii_digit()), "{stamp}");
        assert!(timestamp("%Q").is_err());
        assert!(now_utc().ends_with('Z'));
    }

    #[test]
    fn json_goes_both_ways() {
        let value = parse_json(r#"{"b": [1, "x", null], "a": true}"#).unwrap();
        assert_eq!(to_json(value).unwrap(), r#"{"a":true,"b":[1,"x",null]}"#);
        let error = parse_json("{\"a\":").unwrap_err();
        let EvalAltResult::ErrorRuntime(value, _) = *error else {
            panic!("{error}")
        };
        let message = value.cast::<ScriptError>().message().to_string();
        assert!(
            message.starts_with("not JSON at line 1, column 5"),
            "{message}"
        );
    }
}
