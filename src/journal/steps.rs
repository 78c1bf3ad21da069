//! Steps of one run as the journal sees them: which to run, which to skip
//! (finished in the run being resumed, or before `--start-at`), and their records.

use super::event::{Event, EventKind};
use super::file::{Journal, JournalError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// What to do with a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Run {
        key: String,
    },
    Skip {
        key: String,
        result: Option<serde_json::Value>,
        why: &'static str,
    },
}

/// The steps of this run.
pub struct Steps {
    journal: Option<Journal>,
    finished: BTreeMap<String, Option<serde_json::Value>>,
    start_at: Mutex<Option<String>>,
    counts: Mutex<HashMap<String, usize>>,
    touched: Mutex<BTreeSet<String>>,
    restored_facts: Option<serde_json::Value>,
    resume_command: Option<String>,
    run_options: String,
}

impl Steps {
    /// Steps without a journal (nothing is recorded or skipped).
    pub fn unrecorded() -> Steps {
        Steps::new(None, BTreeMap::new(), None)
    }

    /// `finished`: steps done in the run being resumed; `start_at`: skip until this step.
    pub fn new(
        journal: Option<Journal>,
        finished: BTreeMap<String, Option<serde_json::Value>>,
        start_at: Option<String>,
    ) -> Steps {
        Steps {
            journal,
            finished,
            start_at: Mutex::new(start_at),
            counts: Mutex::new(HashMap::new()),
            touched: Mutex::new(BTreeSet::new()),
            restored_facts: None,
            resume_command: None,
            run_options: String::new(),
        }
    }

    /// What the resumed run knew about the cluster, to start this run with.
    pub fn with_restored_facts(mut self, facts: Option<serde_json::Value>) -> Steps {
        self.restored_facts = facts;
        self
    }

    /// The command that resumes this run (`runbook run ... --resume`), and the options
    /// (` -i /path ...`) another runbook on the same hosts needs: shown when a step fails.
    pub fn with_next_commands(mut self, resume: String, run_options: String) -> Steps {
        self.resume_command = Some(resume);
        self.run_options = run_options;
        self
    }

    pub fn resume_command(&self) -> Option<&str> {
        self.resume_command.as_deref()
    }

    pub fn run_options(&self) -> &str {
        &self.run_options
    }

    pub fn restored_facts(&self) -> Option<&serde_json::Value> {
        self.restored_facts.as_ref()
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Decides about the next step called `name`. An `always` step runs again although an
    /// earlier run finished it (a gate that must look at the cluster as it is now);
    /// `--start-at` still skips it.
    pub fn begin(&self, name: &str, always: bool) -> Decision {
        let key = {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            let count = counts.entry(name.to_string()).or_insert(0);
            *count += 1;
            if *count == 1 {
                name.to_string()
            } else {
                format!("{name}#{count}")
            }
        };
        {
            let mut start_at = self.start_at.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(target) = start_at.as_deref() {
                if target == name || target == key {
                    *start_at = None;
                } else {
                    return Decision::Skip {
                        key,
                        result: None,
                        why: "before --start-at",
                    };
                }
            }
        }
        if let Some(result) = self.finished.get(&key).filter(|_| !always) {
            return Decision::Skip {
                key,
                result: result.clone(),
                why: "done in an earlier run",
            };
        }
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Decision::Run { key }
    }

    /// A step that `--start-at` never reached is a mistake in the command line.
    pub fn unreached_start(&self) -> Option<String> {
        self.start_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Notes that the current step reached `host`.
    pub fn touch(&self, host: &str) {
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string());
    }

    pub fn record(
        &self,
        kind: EventKind,
        key: Option<&str>,
        fill: impl FnOnce(&mut Event),
    ) -> Result<(), JournalError> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        let mut event = Event::new(journal.run(), kind);
        event.step = key.map(str::to_string);
        if matches!(kind, EventKind::StepFinished | EventKind::StepFailed) {
            event.hosts = self
                .touched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect();
        }
        fill(&mut event);
        journal.append(&event)
    }

    pub fn step_ended(
        &self,
        key: &str,
        elapsed: Duration,
        outcome: Result<Option<serde_json::Value>, String>,
        facts: Option<serde_json::Value>,
    ) -> Result<(), JournalError> {
        let kind = if outcome.is_ok() {
            EventKind::StepFinished
        } else {
            EventKind::StepFailed
        };
        self.record(kind, Some(key), |event| {
            event.elapsed_ms = Some(elapsed.as_millis() as u64);
            match outcome {
                Ok(result) => {
                    event.result = result;
                    event.facts = facts;
                }
                Err(error) => event.error = Some(error),
            }
        })
    }
}
