//! `runbook doc [NAME]`: the primitives' reference, from the one registry.

use super::Failure;
use crate::report::Reporter;
use crate::script::registry::{self, PRIMITIVES};

/// No primitive of that name.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("no primitive named `{0}`")]
#[diagnostic(
    code(runbook::doc::unknown),
    help("`runbook doc` lists every primitive, e.g. `runbook doc etcd.backup`")
)]
pub struct Unknown(String);

pub fn print(name: Option<&str>, markdown: bool, reporter: &Reporter) -> Result<(), Failure> {
    if markdown {
        reporter.result(&registry::markdown(), serde_json::json!(PRIMITIVES));
        return Ok(());
    }
    let chosen: Vec<_> = match name {
        Some(name) => registry::find(name),
        None => PRIMITIVES.iter().collect(),
    };
    if chosen.is_empty() {
        return Err(Failure::bad_input(Unknown(
            name.unwrap_or_default().to_string(),
        )));
    }
    let text: Vec<String> = chosen.iter().map(|p| registry::render(p)).collect();
    reporter.result(&text.join("\n"), serde_json::json!(chosen));
    Ok(())
}
