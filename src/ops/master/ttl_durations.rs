//! The lease durations the TTL step needs, read from a master-config.yaml the way
//! `oc adm migrate etcd-ttl` is told them in the procedure.

use super::config_patch::{parse, patch, PatchError};
use crate::duration::parse_duration;
use serde_yaml::Value;
use std::time::Duration;

/// One prefix whose keys get one lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlPrefix {
    pub prefix: &'static str,
    pub duration: Duration,
    /// Where the duration came from ("default", or the config key).
    pub source: String,
}

/// The five prefixes of the procedure with their durations:
/// events (the API server's `event-ttl`, default 1h), master leases (10s),
/// OAuth access tokens (`accessTokenMaxAgeSeconds`, default 86400),
/// OAuth authorize tokens (`authorizeTokenMaxAgeSeconds`, default 500) and
/// controller leases (`controllerLeaseTTL`, default 30, at least 1).
///
/// A config the migration could not patch later (e.g. `apiServerArguments` that is
/// not a mapping) is refused here, so a preflight that reads the TTLs finds it first.
pub fn ttl_durations(path: &str, text: &str) -> Result<Vec<TtlPrefix>, PatchError> {
    let config = parse(path, text)?;
    patch(path, text)?;
    let seconds_at = |keys: &[&str]| -> Option<i64> {
        let mut value = &config;
        for key in keys {
            value = value.get(*key)?;
        }
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
    };
    let (events, events_source) = match config
        .get("kubernetesMasterConfig")
        .and_then(|m| m.get("apiServerArguments"))
        .and_then(|a| a.get("event-ttl"))
        .and_then(first_string)
        .and_then(|text| parse_duration(&text).ok())
    {
        Some(duration) => (
            duration,
            "kubernetesMasterConfig.apiServerArguments.event-ttl".to_string(),
        ),
        None => (Duration::from_secs(3600), "default".to_string()),
    };
    let from_config = |keys: &[&str], default: i64, minimum: i64| -> (Duration, String) {
        match seconds_at(keys) {
            Some(seconds) if seconds >= minimum => {
                (Duration::from_secs(seconds as u64), keys.join("."))
            }
            // A controllerLeaseTTL of 0 or -1 broke the playbook's TTL step; a lease needs at least 1 s.
            Some(seconds) => (
                Duration::from_secs(minimum as u64),
                format!("{} ({seconds}, raised to {minimum})", keys.join(".")),
            ),
            None => (Duration::from_secs(default as u64), "default".to_string()),
        }
    };
    let (access, access_source) = from_config(
        &["oauthConfig", "tokenConfig", "accessTokenMaxAgeSeconds"],
        86400,
        1,
    );
    let (authorize, authorize_source) = from_config(
        &["oauthConfig", "tokenConfig", "authorizeTokenMaxAgeSeconds"],
        500,
        1,
    );
    let (controllers, controllers_source) = from_config(&["controllerLeaseTTL"], 30, 1);
    Ok(vec![
        TtlPrefix {
            prefix: "/kubernetes.io/events",
            duration: events,
            source: events_source,
        },
        TtlPrefix {
            prefix: "/kubernetes.io/masterleases",
            duration: Duration::from_secs(10),
            source: "fixed".into(),
        },
        TtlPrefix {
            prefix: "/openshift.io/oauth/accesstokens",
            duration: access,
            source: access_source,
        },
        TtlPrefix {
            prefix: "/openshift.io/oauth/authorizetokens",
            duration: authorize,
            source: authorize_source,
        },
        TtlPrefix {
            prefix: "/openshift.io/leases/controllers",
            duration: controllers,
            source: controllers_source,
        },
    ])
}

fn first_string(value: &Value) -> Option<String> {
    match value {
        Value::Sequence(items) => items.first().and_then(|v| v.as_str()).map(str::to_string),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(prefixes: &[TtlPrefix]) -> Vec<u64> {
        prefixes.iter().map(|p| p.duration.as_secs()).collect()
    }

    #[test]
    fn defaults_match_the_procedure() {
        let prefixes = ttl_durations("m", "apiVersion: v1\n").unwrap();
        assert_eq!(seconds(&prefixes), [3600, 10, 86400, 500, 30]);
        assert_eq!(prefixes[0].prefix, "/kubernetes.io/events");
        assert_eq!(prefixes[4].prefix, "/openshift.io/leases/controllers");
    }

    #[test]
    fn values_come_from_the_config() {
        let text = "controllerLeaseTTL: 45\noauthConfig:\n  tokenConfig:\n    accessTokenMaxAgeSeconds: 3600\n    authorizeTokenMaxAgeSeconds: \"300\"\nkubernetesMasterConfig:\n  apiServerArguments:\n    event-ttl:\n    - 2h0m0s\n";
        let prefixes = ttl_durations("m", text).unwrap();
        assert_eq!(seconds(&prefixes), [7200, 10, 3600, 300, 45]);
        assert_eq!(prefixes[4].source, "controllerLeaseTTL");
    }

    #[test]
    fn a_controller_lease_ttl_below_one_second_is_raised() {
        for ttl in ["0", "-1"] {
            let prefixes = ttl_durations("m", &format!("controllerLeaseTTL: {ttl}\n")).unwrap();
            assert_eq!(prefixes[4].duration, Duration::from_secs(1));
            assert!(
                prefixes[4].source.contains("raised to 1"),
                "{}",
                prefixes[4].source
            );
        }
    }
}
