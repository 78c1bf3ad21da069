//! `runbook doc [NAME]`: the primitives' reference, from the one registry.

use super::Failure;
use crate::report::Reporter;
use crate::script::reference::Reference;
use crate::script::registry::PRIMITIVES;
use crate::script::stdlib::locate_stdlib;
use serde_json::json;

/// No primitive of that name.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("no primitive or stdlib function named `{0}`")]
#[diagnostic(
    code(runbook::doc::unknown),
    help("`runbook doc` lists every primitive and stdlib function, e.g. `runbook doc etcd.backup` or `runbook doc openshift::masters`")
)]
pub struct Unknown(String);

pub fn print(name: Option<&str>, markdown: bool, reporter: &Reporter) -> Result<(), Failure> {
    let reference = Reference::load(&locate_stdlib(None));
    let machine = json!({"primitives": PRIMITIVES, "stdlib": reference.stdlib});
    if markdown {
        reporter.result(&reference.markdown(), machine);
        return Ok(());
    }
    let text = match name {
        Some(name) => reference.lookup(name).join("\n"),
        None => reference.render_all(),
    };
    if text.is_empty() {
        return Err(Failure::bad_input(Unknown(
            name.unwrap_or_default().to_string(),
        )));
    }
    reporter.result(&text, json!({"name": name, "text": text}));
    Ok(())
}
