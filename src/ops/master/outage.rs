//! The API outage as a run makes it: from the moment `master.stop` stops the masters to the
//! moment `master.restart` has them active again. Kept with the run's facts, so a resumed
//! run goes on counting from the original stop.

use chrono::{DateTime, SecondsFormat, Utc};

/// One outage: open while the masters are down.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiOutage {
    pub stopped_at: DateTime<Utc>,
    pub restarted_at: Option<DateTime<Utc>>,
}

impl ApiOutage {
    /// Its length, up to `now` while it lasts.
    pub fn seconds(&self, now: DateTime<Utc>) -> f64 {
        let end = self.restarted_at.unwrap_or(now);
        (end - self.stopped_at).num_milliseconds().max(0) as f64 / 1000.0
    }

    pub fn is_open(&self) -> bool {
        self.restarted_at.is_none()
    }
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_outage_counts_up_to_now() {
        let stopped = Utc::now();
        let outage = ApiOutage {
            stopped_at: stopped,
            restarted_at: None,
        };
        let later = stopped + chrono::Duration::milliseconds(2500);
        assert!(outage.is_open());
        assert_eq!(outage.seconds(later), 2.5);
        let closed = ApiOutage {
            restarted_at: Some(later),
            ..outage
        };
        assert_eq!(closed.seconds(later + chrono::Duration::seconds(9)), 2.5);
    }
}
