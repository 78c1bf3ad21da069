//! `runbook run --step`: ask before each step whether to run it, skip it, or run
//! the rest without asking (as Ansible's `--step` does).

use std::io::{BufRead, Write};
use std::sync::Mutex;

/// What the operator answered for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAnswer {
    Run,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Run every step without asking.
    Off,
    Ask,
}

/// Whether steps are confirmed one by one.
#[derive(Debug)]
pub struct StepPrompt {
    mode: Mutex<Mode>,
}

impl StepPrompt {
    /// Steps run without asking.
    pub fn off() -> StepPrompt {
        StepPrompt {
            mode: Mutex::new(Mode::Off),
        }
    }

    /// Ask before each step, on stderr, reading the answer from stdin.
    pub fn ask() -> StepPrompt {
        StepPrompt {
            mode: Mutex::new(Mode::Ask),
        }
    }

    /// Asks about step `name` when in asking mode. End of input counts as `no`:
    /// nothing runs that nobody agreed to.
    pub fn before_step(&self, name: &str) -> StepAnswer {
        let mut mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
        if *mode == Mode::Off {
            return StepAnswer::Run;
        }
        let stdin = std::io::stdin();
        loop {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "Run step `{name}`? (y)es/(n)o/(c)ontinue: ");
            let _ = err.flush();
            let mut answer = String::new();
            match stdin.lock().read_line(&mut answer) {
                Ok(0) | Err(_) => return StepAnswer::Skip,
                Ok(_) => {}
            }
            match answer.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => return StepAnswer::Run,
                "n" | "no" => return StepAnswer::Skip,
                "c" | "continue" => {
                    *mode = Mode::Off;
                    return StepAnswer::Run;
                }
                _ => {
                    let _ = writeln!(err, "answer y (run it), n (skip it) or c (run it and every later step without asking)");
                }
            }
        }
    }
}
