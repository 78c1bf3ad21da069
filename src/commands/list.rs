//! `runbook list`: the shipped runbooks and their one-line descriptions.

use crate::report::Reporter;
use crate::script::runbooks;

pub fn print(reporter: &Reporter) {
    let shipped = runbooks::list();
    let width = shipped.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let human: Vec<String> = shipped
        .iter()
        .map(|r| format!("{:width$}  {}", r.name, r.description))
        .collect();
    reporter.result(&human.join("\n"), serde_json::json!(shipped));
}
