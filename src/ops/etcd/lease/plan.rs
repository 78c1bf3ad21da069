//! Which v3 leases restore the v2 TTLs, from the v2 store itself. Every key with a v2 expiry
//! (its own, or a directory's above it) keeps that moment: it goes on a lease that ends at
//! most `tolerance` after it, never before. Keys whose expiry has passed are deleted rather
//! than given a fresh lifetime. Keys under the documented prefixes without an expiry of
//! their own get the prefix's documented duration (master-config.yaml).
//!
//! Keys are grouped by prefix (the documented ones, else their first two path segments),
//! sorted by expiry and cut into leases greedily: a lease takes keys while they expire
//! within its tolerance of its first key and it holds at most `cap` keys. So a prefix uses
//! at most `span / tolerance + 1 + keys / cap` leases, and no revocation removes more than
//! `cap` keys (5% of the prefix, between 100 and 10,000) in one go.
//!
//! The tolerance is `max(60 s, 2% of the prefix's TTL)`; the TTL is the documented duration,
//! or the longest remaining one among its keys if that is longer (a lower bound of the TTL
//! the keys were written with).

use crate::ops::etcd::v2store::Leaf;

const SECOND: i64 = 1_000_000_000;
/// The smallest tolerance.
pub const MIN_TOLERANCE: i64 = 60 * SECOND;
/// The tolerance's share of the TTL: 2%.
pub const TOLERANCE_PERCENT: i64 = 2;
/// Room kept inside the tolerance for whole-second lease TTLs and etcd's expiry checks.
const ROUNDING: i64 = 2 * SECOND;
/// A lease holds at most a twentieth (5%) of its prefix's keys...
const CAP_DIVISOR: usize = 20;
/// ...but never fewer than this many (small prefixes need few leases)...
pub const MIN_CAP: usize = 100;
/// ...and never more than this many (one revocation is one delete in etcd).
pub const MAX_CAP: usize = 10_000;

/// A documented prefix and its duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlPrefix {
    /// `/kubernetes.io/events`: the key itself and everything under `prefix/`.
    pub prefix: String,
    pub seconds: u64,
}

/// Why a key is on its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Its v2 expiry.
    Expiry,
    /// It had none: the prefix's documented duration from now.
    Documented,
}

/// One key to put on a lease, or to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedKey {
    pub key: String,
    /// Unix ns at which v2 would delete it (or now + the documented duration).
    pub target: i64,
    pub origin: Origin,
    /// Its v2 `modifiedIndex`: what `etcdctl migrate` made its `mod_revision`.
    pub modified: u64,
    pub hidden: bool,
}

/// One lease: it ends at `end` (Unix ns), the latest target of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLease {
    pub end: i64,
    pub keys: Vec<PlannedKey>,
}

/// The keys of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The documented prefix, or the first two segments of the keys' paths.
    pub name: String,
    /// The documented duration, for the five prefixes.
    pub documented: Option<u64>,
    /// The TTL the tolerance is a share of (ns).
    pub ttl: i64,
    /// How late a lease may end after a key's target (ns).
    pub tolerance: i64,
    /// The most keys one lease holds.
    pub cap: usize,
    pub leases: Vec<PlannedLease>,
    /// Keys whose v2 expiry has passed: to delete.
    pub expired: Vec<PlannedKey>,
}

impl Group {
    /// Keys to put on leases.
    pub fn keys(&self) -> usize {
        self.leases.iter().map(|l| l.keys.len()).sum()
    }

    /// The most leases the rule allows for this group (see the module's comment).
    pub fn lease_bound(&self) -> usize {
        let targets = self
            .leases
            .iter()
            .flat_map(|l| l.keys.iter().map(|k| k.target));
        let (low, high) = targets.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if low > high {
            return 0;
        }
        let width = (self.tolerance - ROUNDING).max(SECOND);
        ((high - low) / width) as usize + 1 + self.keys().div_ceil(self.cap)
    }
}

/// All the groups, the documented prefixes first, in their order, then the others by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlPlan {
    pub now: i64,
    pub groups: Vec<Group>,
}

/// The tolerance for keys of a prefix whose TTL is `ttl` ns.
pub fn tolerance(ttl: i64) -> i64 {
    MIN_TOLERANCE.max(ttl / 100 * TOLERANCE_PERCENT)
}

/// The documented prefix `key` belongs to (the longest that matches), if any.
fn documented_prefix(key: &str, prefixes: &[TtlPrefix]) -> Option<usize> {
    prefixes
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            let prefix = p.prefix.trim_end_matches('/');
            key == prefix
                || key
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(_, p)| p.prefix.len())
        .map(|(i, _)| i)
}

/// The group of a key outside the documented prefixes: its first two segments (or its
/// parent directory, if shallower).
fn other_group(key: &str) -> String {
    let segments: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    let depth = segments.len().saturating_sub(1).min(2);
    format!("/{}", segments[..depth].join("/"))
}

/// Plans the leases for `leaves` (a v2 store's, in key order) at `now` (Unix ns).
pub fn plan(leaves: &[Leaf], prefixes: &[TtlPrefix], now: i64) -> TtlPlan {
    let mut documented: Vec<Vec<PlannedKey>> = vec![Vec::new(); prefixes.len()];
    let mut others: std::collections::BTreeMap<String, Vec<PlannedKey>> = Default::default();
    for leaf in leaves {
        let prefix = documented_prefix(&leaf.key, prefixes);
        let (target, origin) = match (leaf.expires, prefix) {
            (Some(at), _) => (at, Origin::Expiry),
            (None, Some(i)) => (
                now.saturating_add((prefixes[i].seconds as i64).saturating_mul(SECOND)),
                Origin::Documented,
            ),
            (None, None) => continue,
        };
        let key = PlannedKey {
            key: leaf.key.clone(),
            target,
            origin,
            modified: leaf.modified,
            hidden: leaf.hidden,
        };
        match prefix {
            Some(i) => documented[i].push(key),
            None => others.entry(other_group(&leaf.key)).or_default().push(key),
        }
    }
    let mut groups = Vec::new();
    for (prefix, keys) in prefixes.iter().zip(documented) {
        let name = prefix.prefix.trim_end_matches('/').to_string();
        groups.push(group(name, Some(prefix.seconds), keys, now));
    }
    for (name, keys) in others {
        groups.push(group(name, None, keys, now));
    }
    TtlPlan { now, groups }
}

fn group(name: String, documented: Option<u64>, keys: Vec<PlannedKey>, now: i64) -> Group {
    let (mut live, expired): (Vec<PlannedKey>, Vec<PlannedKey>) =
        keys.into_iter().partition(|k| k.target > now);
    live.sort_by(|a, b| a.target.cmp(&b.target).then_with(|| a.key.cmp(&b.key)));
    let longest = live.last().map_or(0, |k| k.target - now);
    let ttl = longest.max(documented.map_or(0, |s| (s as i64).saturating_mul(SECOND)));
    let tolerance = tolerance(ttl);
    let cap = live.len().div_ceil(CAP_DIVISOR).clamp(MIN_CAP, MAX_CAP);
    let width = (tolerance - ROUNDING).max(SECOND);
    let mut leases: Vec<PlannedLease> = Vec::new();
    for key in live {
        match leases.last_mut() {
            Some(lease) if lease.keys.len() < cap && key.target - lease.keys[0].target <= width => {
                lease.end = key.target;
                lease.keys.push(key);
            }
            _ => leases.push(PlannedLease {
                end: key.target,
                keys: vec![key],
            }),
        }
    }
    Group {
        name,
        documented,
        ttl,
        tolerance,
        cap,
        leases,
        expired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000 * SECOND;

    fn leaf(key: &str, expires_in: Option<i64>) -> Leaf {
        Leaf {
            key: key.to_string(),
            value: Vec::new(),
            created: 1,
            modified: 1,
            expires: expires_in.map(|s| NOW + s * SECOND),
            hidden: crate::ops::etcd::v2store::is_hidden(key),
        }
    }

    fn prefixes() -> Vec<TtlPrefix> {
        [
            ("/kubernetes.io/events", 3600),
            ("/openshift.io/oauth/accesstokens", 86400),
            ("/openshift.io/leases/controllers", 30),
        ]
        .into_iter()
        .map(|(p, s)| TtlPrefix {
            prefix: p.into(),
            seconds: s,
        })
        .collect()
    }

    #[test]
    fn every_key_keeps_its_expiry_within_the_tolerance_and_expired_ones_are_deleted() {
        let mut leaves: Vec<Leaf> = (0..5000)
            .map(|i| {
                leaf(
                    &format!("/openshift.io/oauth/accesstokens/t{i:05}"),
                    Some(i * 17 + 1),
                )
            })
            .collect();
        leaves.push(leaf("/openshift.io/oauth/accesstokens/_hidden", Some(40)));
        leaves.push(leaf("/openshift.io/oauth/accesstokens/gone", Some(-5)));
        leaves.push(leaf("/kubernetes.io/events/ns/e1", None));
        leaves.push(leaf("/openshift.io/leases/controllers", Some(12)));
        leaves.push(leaf("/openshift.io/leases/controllers-other", Some(12)));
        leaves.push(leaf("/kubernetes.io/pods/ns/p", None));
        leaves.push(leaf(
            "/kubernetes.io/leases/kube-system/scheduler",
            Some(7200),
        ));
        leaves.sort_by(|a, b| a.key.cmp(&b.key));
        let plan = plan(&leaves, &prefixes(), NOW);
        let names: Vec<&str> = plan.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "/kubernetes.io/events",
                "/openshift.io/oauth/accesstokens",
                "/openshift.io/leases/controllers",
                "/kubernetes.io/leases",
                "/openshift.io/leases"
            ]
        );
        let tokens = &plan.groups[1];
        assert_eq!(tokens.expired.len(), 1);
        assert_eq!(
            tokens.expired[0].key,
            "/openshift.io/oauth/accesstokens/gone"
        );
        assert_eq!(tokens.keys(), 5001);
        assert_eq!(tokens.tolerance, 86400 * SECOND / 50);
        for lease in &tokens.leases {
            for key in &lease.keys {
                assert!(lease.end >= key.target);
                assert!(lease.end - key.target <= tokens.tolerance - ROUNDING);
            }
            assert!(lease.keys.len() <= tokens.cap);
        }
        assert!(
            tokens.leases.len() <= tokens.lease_bound(),
            "{}",
            tokens.leases.len()
        );
        assert!(tokens.leases.len() <= 120);
        // The bare controllers key is under its prefix; a sibling with a longer name is not.
        assert_eq!(plan.groups[2].keys(), 1);
        assert_eq!(plan.groups[4].keys(), 1);
        // No v2 expiry under a documented prefix: the documented duration.
        let event = &plan.groups[0].leases[0].keys[0];
        assert_eq!(
            (event.origin, event.target),
            (Origin::Documented, NOW + 3600 * SECOND)
        );
        // Pods without a TTL are not planned at all.
        assert!(plan
            .groups
            .iter()
            .flat_map(|g| g.leases.iter().flat_map(|l| &l.keys))
            .all(|k| !k.key.contains("/pods/")));
    }

    #[test]
    fn keys_expiring_together_are_split_so_no_lease_holds_more_than_the_cap() {
        let leaves: Vec<Leaf> = (0..40_000)
            .map(|i| leaf(&format!("/kubernetes.io/events/ns/e{i:06}"), Some(1800)))
            .collect();
        let plan = plan(&leaves, &prefixes(), NOW);
        let events = &plan.groups[0];
        assert_eq!(events.cap, 2000);
        assert_eq!(events.leases.len(), 20);
        assert!(events.leases.iter().all(|l| l.keys.len() == 2000));
        assert_eq!(tolerance(10 * SECOND), MIN_TOLERANCE);
    }
}
