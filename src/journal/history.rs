//! Reading a journal back: the last run, whether it finished, and which steps are
//! done across the chain of runs that resumed one another.

use super::event::{Event, EventKind};
use std::collections::{BTreeMap, HashSet};

/// The runs a journal records, in order.
#[derive(Debug, Default)]
pub struct History {
    runs: Vec<Run>,
}

#[derive(Debug, Default, Clone)]
struct Run {
    id: String,
    resumes: Option<String>,
    events: Vec<Event>,
}

impl Run {
    fn ended(&self) -> Option<EventKind> {
        self.events
            .iter()
            .rev()
            .map(|e| e.event)
            .find(|k| matches!(k, EventKind::RunFinished | EventKind::RunFailed))
    }
}

/// One finished step: when it started (RFC 3339) and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTime {
    pub name: String,
    pub started: String,
    pub seconds: f64,
}

/// How the last run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LastRun {
    None,
    Finished,
    /// It failed or stopped mid-way: `last_done` is its last finished step,
    /// `in_progress` a step that started and did not end.
    Unfinished {
        run: String,
        last_done: Option<String>,
        in_progress: Option<String>,
        failed: bool,
    },
}

impl History {
    pub fn from_events(events: Vec<Event>) -> History {
        let mut runs: Vec<Run> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for event in events {
            let at = *index.entry(event.run.clone()).or_insert_with(|| {
                runs.push(Run {
                    id: event.run.clone(),
                    ..Run::default()
                });
                runs.len() - 1
            });
            if event.event == EventKind::RunStarted {
                runs[at].resumes = event.resumes.clone();
            }
            runs[at].events.push(event);
        }
        History { runs }
    }

    pub fn last_run(&self) -> LastRun {
        let Some(run) = self.runs.last() else {
            return LastRun::None;
        };
        match run.ended() {
            Some(EventKind::RunFinished) => LastRun::Finished,
            ended => {
                let chain = self.chain();
                // A run that failed before any step (a script error, a failed check) has nothing to resume.
                if !chain
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .any(|e| e.step.is_some())
                {
                    return LastRun::None;
                }
                let last_done = chain
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .filter(|e| matches!(e.event, EventKind::StepFinished | EventKind::StepSkipped))
                    .filter_map(|e| e.step.clone())
                    .next_back();
                let mut open: Vec<String> = Vec::new();
                let mut failed_step = None;
                for event in &run.events {
                    match (event.event, &event.step) {
                        (EventKind::StepStarted, Some(step)) => open.push(step.clone()),
                        (EventKind::StepFailed, Some(step)) => {
                            open.retain(|s| s != step);
                            failed_step = Some(step.clone());
                        }
                        (EventKind::StepFinished | EventKind::StepSkipped, Some(step)) => {
                            open.retain(|s| s != step)
                        }
                        _ => {}
                    }
                }
                // An open step means the process died inside it; else name the step that failed.
                let (in_progress, failed) = match open.pop() {
                    Some(step) => (Some(step), false),
                    None => (failed_step, ended == Some(EventKind::RunFailed)),
                };
                LastRun::Unfinished {
                    run: run.id.clone(),
                    last_done,
                    in_progress,
                    failed,
                }
            }
        }
    }

    /// The finished steps (keys) of the last run and of the runs it resumed, with their values.
    pub fn finished_steps(&self) -> BTreeMap<String, Option<serde_json::Value>> {
        let mut done = BTreeMap::new();
        for run in self.chain() {
            for event in &run.events {
                if event.event == EventKind::StepFinished {
                    if let Some(step) = &event.step {
                        done.insert(step.clone(), event.result.clone());
                    }
                }
            }
        }
        done
    }

    /// The finished steps of the last run and of the runs it resumed, in the order they
    /// finished, with when each started and how long it took.
    pub fn step_times(&self) -> Vec<StepTime> {
        let mut times = Vec::new();
        for run in self.chain() {
            let mut started: BTreeMap<&str, &str> = BTreeMap::new();
            for event in &run.events {
                let Some(step) = event.step.as_deref() else {
                    continue;
                };
                match event.event {
                    EventKind::StepStarted => {
                        started.insert(step, &event.time);
                    }
                    EventKind::StepFinished => times.push(StepTime {
                        name: step.to_string(),
                        started: started
                            .get(step)
                            .copied()
                            .unwrap_or(&event.time)
                            .to_string(),
                        seconds: event.elapsed_ms.unwrap_or(0) as f64 / 1000.0,
                    }),
                    _ => {}
                }
            }
        }
        times
    }

    /// The facts journaled with the last finished step of the last run and the runs it resumed.
    pub fn last_facts(&self) -> Option<serde_json::Value> {
        self.chain()
            .iter()
            .flat_map(|r| r.events.iter())
            .filter(|e| e.event == EventKind::StepFinished)
            .filter_map(|e| e.facts.clone())
            .next_back()
    }

    /// The last run and, back through `resumes`, the runs it continued; oldest first.
    fn chain(&self) -> Vec<&Run> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = self.runs.last();
        while let Some(run) = next {
            if !seen.insert(run.id.clone()) {
                break;
            }
            chain.push(run);
            next = run
                .resumes
                .as_ref()
                .and_then(|id| self.runs.iter().find(|r| &r.id == id));
        }
        chain.reverse();
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(run: &str, kind: EventKind, step: Option<&str>) -> Event {
        let mut e = Event::new(run, kind);
        e.step = step.map(str::to_string);
        e
    }

    #[test]
    fn step_times_follow_the_chain_of_resumed_runs() {
        let mut resumed = ev("r2", EventKind::RunStarted, None);
        resumed.resumes = Some("r1".into());
        let mut done = ev("r1", EventKind::StepFinished, Some("backup"));
        done.elapsed_ms = Some(1500);
        let mut again = ev("r2", EventKind::StepFinished, Some("migrate"));
        again.elapsed_ms = Some(250);
        let h = History::from_events(vec![
            ev("r1", EventKind::RunStarted, None),
            ev("r1", EventKind::StepStarted, Some("backup")),
            done,
            ev("r1", EventKind::StepStarted, Some("migrate")),
            resumed,
            ev("r2", EventKind::StepStarted, Some("migrate")),
            again,
        ]);
        let times: Vec<(String, f64)> = h
            .step_times()
            .into_iter()
            .map(|t| (t.name, t.seconds))
            .collect();
        assert_eq!(
            times,
            [("backup".to_string(), 1.5), ("migrate".to_string(), 0.25)]
        );
    }

    #[test]
    fn an_empty_journal_has_no_last_run() {
        assert_eq!(History::from_events(vec![]).last_run(), LastRun::None);
    }

    #[test]
    fn an_interrupted_run_names_its_last_finished_and_open_steps() {
        let h = History::from_events(vec![
            ev("r1", EventKind::RunStarted, None),
            ev("r1", EventKind::StepStarted, Some("backup")),
            ev("r1", EventKind::StepFinished, Some("backup")),
            ev("r1", EventKind::StepStarted, Some("migrate")),
        ]);
        assert_eq!(
            h.last_run(),
            LastRun::Unfinished {
                run: "r1".into(),
                last_done: Some("backup".into()),
                in_progress: Some("migrate".into()),
                failed: false
            }
        );
        assert_eq!(h.finished_steps().keys().collect::<Vec<_>>(), ["backup"]);
    }

    #[test]
    fn a_run_that_failed_before_any_step_blocks_nothing() {
        let h = History::from_events(vec![
            ev("r1", EventKind::RunStarted, None),
            ev("r1", EventKind::RunFailed, None),
        ]);
        assert_eq!(h.last_run(), LastRun::None);
    }

    #[test]
    fn resumed_runs_add_up_and_a_fresh_run_starts_clean() {
        let mut resumed = ev("r2", EventKind::RunStarted, None);
        resumed.resumes = Some("r1".into());
        let events = vec![
            ev("r1", EventKind::RunStarted, None),
            ev("r1", EventKind::StepFinished, Some("a")),
            resumed,
            ev("r2", EventKind::StepSkipped, Some("a")),
            ev("r2", EventKind::StepFinished, Some("b")),
            ev("r2", EventKind::RunFailed, None),
        ];
        let h = History::from_events(events.clone());
        assert_eq!(h.finished_steps().keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(matches!(
            h.last_run(),
            LastRun::Unfinished { failed: true, .. }
        ));

        let mut more = events;
        more.push(ev("r3", EventKind::RunStarted, None));
        more.push(ev("r3", EventKind::RunFinished, None));
        let h = History::from_events(more);
        assert_eq!(h.last_run(), LastRun::Finished);
        assert!(h.finished_steps().is_empty(), "r3 resumed nothing");
    }
}
