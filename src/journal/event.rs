//! One line of the journal.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RunStarted,
    StepStarted,
    StepFinished,
    StepSkipped,
    StepFailed,
    RunFinished,
    RunFailed,
}

/// A journal line. `step` is the step's key: its name, with `#2`, `#3`...
/// for later steps of the same name in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub run: String,
    pub event: EventKind,
    /// RFC 3339, local time with offset.
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Hosts the step reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The step's value, when it can be written as JSON (returned again on resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On `run_started`: the run this one resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes: Option<String>,
    /// On `step_finished`: what the run knew about the cluster after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<serde_json::Value>,
    /// On `run_started`: the runbook file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

impl Event {
    pub fn new(run: &str, event: EventKind) -> Event {
        Event {
            run: run.to_string(),
            event,
            time: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            step: None,
            hosts: Vec::new(),
            elapsed_ms: None,
            result: None,
            error: None,
            resumes: None,
            facts: None,
            script: None,
        }
    }

    pub fn step(mut self, key: &str) -> Event {
        self.step = Some(key.to_string());
        self
    }
}
