//! The last line of a terminal during a run: how long the API has been down, the step that
//! runs and for how long, and the progress of a long operation with its rate and ETA:
//! `API down 00:23 (step: migrate etcd-1, 14 s)`. Redrawn every second while there is
//! something to show; every other line is written above it.

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// A long operation's progress: done of total since it started.
#[derive(Debug, Clone)]
struct Progress {
    label: String,
    done: u64,
    total: u64,
    started: Instant,
}

/// What the line shows.
#[derive(Debug, Default)]
pub struct StatusLine {
    api_down_since: Option<DateTime<Utc>>,
    step: Option<(String, Instant)>,
    progress: Option<Progress>,
    /// Whether the line is on the terminal now (it must be erased before other output).
    pub drawn: bool,
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `12,345/s, ETA 00:07` for `done` of `total` after `elapsed`; `None` too early to tell.
pub fn rate_and_eta(done: u64, total: u64, elapsed: Duration) -> Option<String> {
    let seconds = elapsed.as_secs_f64();
    if done == 0 || seconds < 0.5 {
        return None;
    }
    let rate = done as f64 / seconds;
    let left = total.saturating_sub(done) as f64 / rate;
    Some(format!(
        "{}/s, ETA {}",
        thousands(rate.round() as u64),
        clock(left.ceil() as u64)
    ))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl StatusLine {
    pub fn api_down(&mut self, since: DateTime<Utc>) {
        self.api_down_since = Some(since);
    }

    pub fn api_up(&mut self) {
        self.api_down_since = None;
    }

    pub fn step_started(&mut self, name: &str) {
        self.step = Some((name.to_string(), Instant::now()));
        self.progress = None;
    }

    pub fn step_ended(&mut self) {
        self.step = None;
        self.progress = None;
    }

    /// Records progress; returns the rate and ETA so far (for a line of its own).
    pub fn progress(&mut self, label: &str, done: u64, total: u64) -> Option<String> {
        let restart = self
            .progress
            .as_ref()
            .is_none_or(|p| p.label != label || done < p.done);
        if restart {
            self.progress = Some(Progress {
                label: label.to_string(),
                done,
                total,
                started: Instant::now(),
            });
        }
        let progress = self.progress.as_mut().expect("just set");
        progress.done = done;
        progress.total = total;
        let rate = rate_and_eta(done, total, progress.started.elapsed());
        if done >= total {
            self.progress = None;
        }
        rate
    }

    /// The line's text at `now`, or `None` when there is nothing to show.
    pub fn render(&self, now: DateTime<Utc>) -> Option<String> {
        let step = self
            .step
            .as_ref()
            .map(|(name, started)| format!("step: {name}, {} s", started.elapsed().as_secs()));
        let mut line = match (self.api_down_since, step) {
            (Some(since), Some(step)) => {
                let down = (now - since).num_seconds().max(0) as u64;
                format!("API down {} ({step})", clock(down))
            }
            (Some(since), None) => {
                let down = (now - since).num_seconds().max(0) as u64;
                format!("API down {}", clock(down))
            }
            (None, Some(step)) => step,
            (None, None) => return None,
        };
        if let Some(p) = &self.progress {
            line.push_str(&format!(
                " · {}: {}/{}",
                p.label,
                thousands(p.done),
                thousands(p.total)
            ));
            if let Some(rate) = rate_and_eta(p.done, p.total, p.started.elapsed()) {
                line.push_str(&format!(" ({rate})"));
            }
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_clock_names_the_step() {
        let mut line = StatusLine::default();
        assert_eq!(line.render(Utc::now()), None);
        let since = Utc::now();
        line.api_down(since);
        line.step_started("migrate etcd-1");
        let shown = line.render(since + chrono::Duration::seconds(83)).unwrap();
        assert_eq!(shown, "API down 01:23 (step: migrate etcd-1, 0 s)");
        line.api_up();
        assert_eq!(
            line.render(Utc::now()).unwrap(),
            "step: migrate etcd-1, 0 s"
        );
    }

    #[test]
    fn rate_and_eta_from_progress_so_far() {
        assert_eq!(rate_and_eta(0, 100, Duration::from_secs(5)), None);
        assert_eq!(
            rate_and_eta(25_000, 100_000, Duration::from_secs(2)).unwrap(),
            "12,500/s, ETA 00:06"
        );
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
