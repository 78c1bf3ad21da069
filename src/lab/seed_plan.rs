//! What the lab seeds: exactly N v2 leaf keys shaped like an OpenShift 3.6 cluster's
//! etcd (Kubernetes objects as JSON, events, master leases, OAuth tokens, the legacy
//! controller lease), plus a few empty directories, values of 100 KiB and more, and
//! non-ASCII keys. Content is deterministic: the same N always gives the same keys, values
//! and TTLs, so tests can recompute what they should find.
//!
//! The cases a migration must not lose are all there:
//! - hidden keys: OAuth token names are base64url text, so some begin with `_` (hidden from
//!   v2 listings, and so from `etcdctl migrate`) and some with `-`;
//! - the bare key `/openshift.io/leases/controllers` (legacy controller lease), not only
//!   keys under the prefix;
//! - TTL keys outside the five documented prefixes (`/kubernetes.io/leases/...`);
//! - TTLs spread over their range: each key has between a quarter and all of its kind's TTL
//!   left. The TTLs are hours long, not the seconds or minutes a live cluster uses (events
//!   1h, master leases 10s, authorize tokens 500s), so the keys survive a whole rehearsal:
//!   events 12h, master leases 6h, access tokens 24h, authorize tokens 6h, controller lease
//!   6h, other leases 2h;
//! - on request (`expiring`), keys with 5 s to 2 min left, which expire during a migration.

use serde_json::json;

/// TTL of `/kubernetes.io/events/...` keys.
pub const EVENT_TTL: u64 = 12 * 3600;
/// TTL of `/kubernetes.io/masterleases/<ip>` keys.
pub const MASTER_LEASE_TTL: u64 = 6 * 3600;
/// TTL of `/openshift.io/oauth/accesstokens/...` keys (= accessTokenMaxAgeSeconds 86400).
pub const ACCESS_TOKEN_TTL: u64 = 24 * 3600;
/// TTL of `/openshift.io/oauth/authorizetokens/...` keys.
pub const AUTHORIZE_TOKEN_TTL: u64 = 6 * 3600;
/// TTL of the `/openshift.io/leases/controllers` key.
pub const CONTROLLER_LEASE_TTL: u64 = 6 * 3600;
/// TTL of `/kubernetes.io/leases/...` keys (outside the five documented prefixes).
pub const OTHER_LEASE_TTL: u64 = 2 * 3600;
/// The longest TTL of a key seeded as about to expire.
pub const EXPIRING_TTL: u64 = 120;
/// Every how many tokens one begins with `_` (and the next with `-`).
pub const HIDDEN_TOKEN_EVERY: usize = 40;

/// Directories created empty (they hold no leaf key).
pub const EMPTY_DIRS: [&str; 4] = [
    "/kubernetes.io/podtemplates",
    "/kubernetes.io/thirdpartyresources",
    "/openshift.io/oauth/clientauthorizations",
    "/openshift.io/imagestreams/empty-project",
];

/// Keys outside ASCII (one with a space too): they must be URL-encoded on the wire.
pub const NON_ASCII_KEYS: [&str; 3] = [
    "/kubernetes.io/configmaps/default/café-menü",
    "/openshift.io/templates/openshift/шаблон-приложения",
    "/kubernetes.io/secrets/default/秘密 ключ",
];

/// Sizes of the large values (bytes): 100 KiB and more.
pub const BIG_VALUE_SIZES: [usize; 3] = [100 * 1024, 160 * 1024, 256 * 1024];

const FIXED_NAMESPACES: [&str; 7] = [
    "default",
    "kube-system",
    "openshift",
    "openshift-infra",
    "openshift-node",
    "logging",
    "management-infra",
];

/// The kind of object a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Namespace,
    Pod,
    Secret,
    ConfigMap,
    Service,
    Event,
    AccessToken,
    AuthorizeToken,
    MasterLease,
    ControllerLease,
    OtherLease,
    Expiring,
    Big,
    NonAscii,
}

/// One key to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedKey {
    pub key: String,
    pub kind: Kind,
    pub index: usize,
    pub ttl: Option<u64>,
    namespace: String,
}

/// Every key of a lab with N keys.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub keys: Vec<SeedKey>,
}

// splitmix64: a tiny deterministic generator.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn seed_of(kind: Kind, index: usize) -> u64 {
    mix(((kind as u64) << 40) ^ index as u64)
}

/// Deterministic lowercase alphanumeric text.
fn token(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = mix(state);
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Deterministic filler text of exactly `len` bytes (base64-like, as in secrets).
fn filler(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(len);
    let mut state = seed;
    while out.len() < len {
        state = mix(state);
        let mut bits = state;
        for _ in 0..10 {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[(bits & 63) as usize] as char);
            bits >>= 6;
        }
    }
    out
}

fn namespace_name(index: usize) -> String {
    match FIXED_NAMESPACES.get(index) {
        Some(name) => name.to_string(),
        None => format!("project-{index:04}"),
    }
}

fn timestamp(seed: u64) -> String {
    // Within 2017, when OpenShift 3.6 clusters were young.
    let secs = 1_483_228_800 + (seed % 31_536_000) as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "2017-06-01T00:00:00Z".to_string())
}

impl SeedPlan {
    /// The plan for exactly `total` leaf keys, none about to expire.
    pub fn new(total: usize) -> SeedPlan {
        SeedPlan::with_expiring(total, 0)
    }

    /// The plan for exactly `total` leaf keys, `expiring` of them (at most `total`) with
    /// between 5 s and [`EXPIRING_TTL`] left.
    pub fn with_expiring(total: usize, expiring: usize) -> SeedPlan {
        let expiring = expiring.min(total);
        let mut plan = SeedPlan::shaped(total - expiring);
        for index in 0..expiring {
            plan.keys.push(SeedKey::new(Kind::Expiring, index, 1));
        }
        plan
    }

    fn shaped(total: usize) -> SeedPlan {
        let mut keys = Vec::with_capacity(total);
        let specials = [
            (Kind::MasterLease, 0),
            (Kind::NonAscii, 0),
            (Kind::Big, 0),
            (Kind::ControllerLease, 0),
            (Kind::MasterLease, 1),
            (Kind::NonAscii, 1),
            (Kind::Big, 1),
            (Kind::MasterLease, 2),
            (Kind::NonAscii, 2),
            (Kind::Big, 2),
            (Kind::OtherLease, 0),
            (Kind::OtherLease, 1),
        ];
        for (kind, index) in specials.into_iter().take(total) {
            keys.push(SeedKey::new(kind, index, 1));
        }
        let rest = total - keys.len();
        if rest == 0 {
            return SeedPlan { keys };
        }
        let namespaces = (rest / 25).max(1);
        let others = rest - namespaces;
        let weights = [
            (Kind::Secret, 15),
            (Kind::ConfigMap, 10),
            (Kind::Service, 10),
            (Kind::Event, 20),
            (Kind::AccessToken, 10),
            (Kind::AuthorizeToken, 5),
        ];
        let mut counts: Vec<(Kind, usize)> = weights
            .iter()
            .map(|&(kind, weight)| (kind, others * weight / 100))
            .collect();
        let assigned: usize = counts.iter().map(|c| c.1).sum();
        counts.insert(0, (Kind::Pod, others - assigned));
        for index in 0..namespaces {
            keys.push(SeedKey::new(Kind::Namespace, index, namespaces));
        }
        for (kind, count) in counts {
            for index in 0..count {
                keys.push(SeedKey::new(kind, index, namespaces));
            }
        }
        SeedPlan { keys }
    }

    /// Keys that carry a TTL.
    pub fn ttl_keys(&self) -> impl Iterator<Item = &SeedKey> {
        self.keys.iter().filter(|k| k.ttl.is_some())
    }

    /// Keys a recursive v2 listing hides (a segment starting with `_`).
    pub fn hidden_keys(&self) -> impl Iterator<Item = &SeedKey> {
        self.keys.iter().filter(|k| k.hidden())
    }
}

/// Between a quarter and all of `ttl`, chosen by `seed`: keys written at different times.
fn spread(ttl: u64, seed: u64) -> u64 {
    (ttl * (25 + seed % 76) / 100).max(1)
}

/// An OAuth token name: 43 characters of base64url, as OpenShift makes them; every
/// [`HIDDEN_TOKEN_EVERY`]th begins with `_` (a hidden key) and the next with `-`.
fn token_name(seed: u64, index: usize) -> String {
    let mut name = filler(seed, 43).replace('+', "-").replace('/', "_");
    let first = match index % HIDDEN_TOKEN_EVERY {
        0 => Some('_'),
        1 => Some('-'),
        // Natural base64url: a `_` may come first anyway; keep the forced ones countable.
        _ if name.starts_with('_') => Some('A'),
        _ => None,
    };
    if let Some(first) = first {
        name.replace_range(..1, &first.to_string());
    }
    name
}

impl SeedKey {
    fn new(kind: Kind, index: usize, namespaces: usize) -> SeedKey {
        let seed = seed_of(kind, index);
        let namespace = namespace_name((seed % namespaces as u64) as usize);
        let ns = &namespace;
        let (key, ttl) = match kind {
            Kind::Namespace => (
                format!("/kubernetes.io/namespaces/{}", namespace_name(index)),
                None,
            ),
            Kind::Pod => (
                format!(
                    "/kubernetes.io/pods/{ns}/app-{index}-{}-{}",
                    token(seed, 10),
                    token(seed ^ 1, 5)
                ),
                None,
            ),
            Kind::Secret => (
                format!(
                    "/kubernetes.io/secrets/{ns}/builder-token-{index}-{}",
                    token(seed, 5)
                ),
                None,
            ),
            Kind::ConfigMap => (
                format!("/kubernetes.io/configmaps/{ns}/config-{index}"),
                None,
            ),
            Kind::Service => (
                format!("/kubernetes.io/services/specs/{ns}/svc-{index}"),
                None,
            ),
            Kind::Event => (
                format!("/kubernetes.io/events/{ns}/app-{index}.{:016x}", mix(seed)),
                Some(spread(EVENT_TTL, seed)),
            ),
            Kind::AccessToken => (
                format!(
                    "/openshift.io/oauth/accesstokens/{}",
                    token_name(seed, index)
                ),
                Some(spread(ACCESS_TOKEN_TTL, seed)),
            ),
            Kind::AuthorizeToken => (
                format!(
                    "/openshift.io/oauth/authorizetokens/{}",
                    token_name(seed, index)
                ),
                Some(spread(AUTHORIZE_TOKEN_TTL, seed)),
            ),
            Kind::MasterLease => (
                format!("/kubernetes.io/masterleases/10.0.0.{}", index + 1),
                Some(spread(MASTER_LEASE_TTL, seed)),
            ),
            // The legacy controller lease: the prefix itself is the key.
            Kind::ControllerLease => (
                "/openshift.io/leases/controllers".to_string(),
                Some(spread(CONTROLLER_LEASE_TTL, seed)),
            ),
            Kind::OtherLease => (
                format!("/kubernetes.io/leases/kube-system/component-{index}"),
                Some(spread(OTHER_LEASE_TTL, seed)),
            ),
            Kind::Expiring => {
                let ttl = 5 + (seed % (EXPIRING_TTL - 4));
                let key = match index % 3 {
                    0 => format!("/kubernetes.io/events/default/expiring-{index}"),
                    1 => format!("/openshift.io/oauth/authorizetokens/expiring-{index}"),
                    _ => format!("/kubernetes.io/leases/default/expiring-{index}"),
                };
                (key, Some(ttl))
            }
            Kind::Big => (
                format!("/kubernetes.io/configmaps/openshift-infra/large-bundle-{index}"),
                None,
            ),
            Kind::NonAscii => (NON_ASCII_KEYS[index].to_string(), None),
        };
        SeedKey {
            key,
            kind,
            index,
            ttl,
            namespace,
        }
    }

    /// Whether a recursive v2 listing hides this key.
    pub fn hidden(&self) -> bool {
        self.key.split('/').any(|segment| segment.starts_with('_'))
    }

    /// The object's name: the key's last segment.
    fn name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or("")
    }

    /// The value, always the same for the same key.
    pub fn value(&self) -> String {
        let seed = seed_of(self.kind, self.index);
        let ns = self.namespace.as_str();
        let name = self.name();
        let created = timestamp(seed);
        let uid = format!(
            "{:08x}-{:04x}-11e7-{:04x}-{:012x}",
            seed as u32,
            (seed >> 32) as u16,
            (seed >> 48) as u16,
            mix(seed) & 0xffff_ffff_ffff
        );
        let meta = |namespace: Option<&str>| {
            let mut m = json!({
                "name": name,
                "selfLink": format!("/api/v1/{}", self.key.trim_start_matches("/kubernetes.io/")),
                "uid": uid,
                "creationTimestamp": created,
            });
            if let Some(namespace) = namespace {
                m["namespace"] = json!(namespace);
            }
            m
        };
        // 300-1500 bytes of annotation keep objects in the 0.5-2 KiB range.
        let padding = filler(seed ^ 7, 300 + (seed % 1200) as usize);
        let value = match self.kind {
            Kind::Namespace => json!({
                "kind": "Namespace", "apiVersion": "v1",
                "metadata": {
                    "name": name, "uid": uid, "creationTimestamp": created,
                    "annotations": {
                        "openshift.io/description": "",
                        "openshift.io/display-name": "",
                        "openshift.io/requester": "developer",
                        "openshift.io/sa.scc.mcs": "s0:c8,c2",
                        "openshift.io/sa.scc.supplemental-groups": "1000060000/10000",
                        "openshift.io/sa.scc.uid-range": "1000060000/10000",
                        "runbook.lab/padding": &padding[..padding.len().min(200)],
                    }
                },
                "spec": {"finalizers": ["openshift.io/origin", "kubernetes"]},
                "status": {"phase": "Active"}
            }),
            Kind::Pod => json!({
                "kind": "Pod", "apiVersion": "v1",
                "metadata": {
                    "name": name, "generateName": format!("{name}-"), "namespace": ns,
                    "uid": uid, "creationTimestamp": created,
                    "labels": {"app": format!("app-{}", self.index), "deploymentconfig": format!("app-{}", self.index)},
                    "annotations": {
                        "kubernetes.io/created-by": padding,
                        "openshift.io/scc": "restricted"
                    }
                },
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": format!("docker-registry.default.svc:5000/{ns}/app@sha256:{:016x}{:016x}", mix(seed), mix(seed ^ 3)),
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}},
                        "terminationMessagePath": "/dev/termination-log",
                        "imagePullPolicy": "Always"
                    }],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "default",
                    "nodeName": format!("node-{}.lab.example.com", seed % 5 + 1)
                },
                "status": {"phase": "Running", "podIP": format!("10.128.{}.{}", (seed >> 8) % 250, seed % 250 + 2)}
            }),
            Kind::Secret => json!({
                "kind": "Secret", "apiVersion": "v1", "metadata": meta(Some(ns)),
                "type": "kubernetes.io/service-account-token",
                "data": {"token": padding, "namespace": ns, "ca.crt": filler(seed ^ 9, 400)}
            }),
            Kind::ConfigMap => json!({
                "kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(Some(ns)),
                "data": {"application.properties": padding}
            }),
            Kind::Service => json!({
                "kind": "Service", "apiVersion": "v1", "metadata": meta(Some(ns)),
                "spec": {
                    "ports": [{"name": "8080-tcp", "protocol": "TCP", "port": 8080, "targetPort": 8080}],
                    "selector": {"deploymentconfig": name},
                    "clusterIP": format!("172.30.{}.{}", (seed >> 8) % 250, seed % 250 + 1),
                    "type": "ClusterIP", "sessionAffinity": "None"
                },
                "status": {"loadBalancer": {}},
                "runbook.lab/padding": &padding[..padding.len().min(400)]
            }),
            Kind::Event => json!({
                "kind": "Event", "apiVersion": "v1", "metadata": meta(Some(ns)),
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": format!("app-{}", self.index), "apiVersion": "v1"},
                "reason": "Pulled",
                "message": format!("Successfully pulled image \"docker-registry.default.svc:5000/{ns}/app\" {padding}"),
                "source": {"component": "kubelet", "host": format!("node-{}.lab.example.com", seed % 5 + 1)},
                "firstTimestamp": created, "lastTimestamp": created, "count": seed % 20 + 1, "type": "Normal"
            }),
            Kind::AccessToken | Kind::AuthorizeToken => json!({
                "kind": if self.kind == Kind::AccessToken { "OAuthAccessToken" } else { "OAuthAuthorizeToken" },
                "apiVersion": "v1", "metadata": meta(None),
                "clientName": "openshift-challenging-client",
                "expiresIn": self.ttl,
                "scopes": ["user:full"],
                "redirectURI": "https://master-1:8443/oauth/token/implicit",
                "userName": format!("user{}", seed % 100),
                "userUID": uid,
                "runbook.lab/padding": &padding[..padding.len().min(300)]
            }),
            Kind::MasterLease => json!({
                "kind": "Endpoints", "apiVersion": "v1",
                "metadata": {"name": name, "creationTimestamp": created},
                "subsets": [{"addresses": [{"ip": name}], "ports": [{"port": 8443, "protocol": "TCP"}]}]
            }),
            Kind::OtherLease | Kind::Expiring => json!({
                "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                "metadata": meta(Some("kube-system")),
                "spec": {"holderIdentity": format!("master-1-{:x}", seed as u32), "leaseDurationSeconds": self.ttl}
            }),
            Kind::ControllerLease => json!({
                "holderIdentity": format!("master-1-{:x}", seed as u32),
                "leaseDurationSeconds": 30,
                "acquireTime": created, "renewTime": created
            }),
            Kind::Big => json!({
                "kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(Some("openshift-infra")),
                "data": {"bundle.pem": filler(seed, BIG_VALUE_SIZES[self.index])}
            }),
            Kind::NonAscii => json!({
                "kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(Some(ns)),
                "data": {"greeting": "Grüße, привет, こんにちは"}
            }),
        };
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_and_unique_keys() {
        for n in [0, 1, 5, 10, 11, 37, 300, 1000, 4321] {
            let plan = SeedPlan::new(n);
            assert_eq!(plan.keys.len(), n, "n = {n}");
            let mut keys: Vec<&str> = plan.keys.iter().map(|k| k.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), n, "duplicate keys for n = {n}");
            // Hidden keys (a `_` segment) are seeded on purpose, a few in every lab.
            if n >= 100 {
                assert!(
                    keys.iter().any(|k| k.contains("/_")),
                    "no hidden key for n = {n}"
                );
            }
        }
    }

    #[test]
    fn deterministic_and_shaped() {
        let a = SeedPlan::new(1000);
        let b = SeedPlan::new(1000);
        assert_eq!(a.keys, b.keys);
        assert_eq!(a.keys[20].value(), b.keys[20].value());
        let big = a
            .keys
            .iter()
            .filter(|k| k.kind == Kind::Big)
            .collect::<Vec<_>>();
        assert_eq!(big.len(), 3);
        assert!(big.iter().all(|k| k.value().len() >= 100 * 1024));
        for kind in [
            Kind::Pod,
            Kind::Secret,
            Kind::ConfigMap,
            Kind::Event,
            Kind::Namespace,
        ] {
            let key = a.keys.iter().find(|k| k.kind == kind).unwrap();
            let len = key.value().len();
            assert!((400..=2600).contains(&len), "{kind:?} value is {len} bytes");
        }
        assert!(a
            .ttl_keys()
            .any(|k| k.key.starts_with("/kubernetes.io/events/")));
        assert!(a
            .ttl_keys()
            .any(|k| k.key.starts_with("/openshift.io/oauth/accesstokens/")));
        assert!(a
            .ttl_keys()
            .any(|k| k.key.starts_with("/openshift.io/oauth/authorizetokens/")));
        assert!(a
            .ttl_keys()
            .any(|k| k.key.starts_with("/kubernetes.io/masterleases/")));
        assert!(a
            .ttl_keys()
            .any(|k| k.key == "/openshift.io/leases/controllers"));
        assert!(a
            .ttl_keys()
            .any(|k| k.key.starts_with("/kubernetes.io/leases/")));
        let hidden: Vec<&SeedKey> = a.hidden_keys().collect();
        assert!(hidden.len() >= 3, "{}", hidden.len());
        assert!(hidden
            .iter()
            .all(|k| k.key.contains("/oauth/") && k.ttl.is_some()));
        assert!(a
            .keys
            .iter()
            .any(|k| k.key.starts_with("/openshift.io/oauth/accesstokens/-")));
        // TTLs spread over a quarter to all of their kind's.
        let events: Vec<u64> = a
            .keys
            .iter()
            .filter(|k| k.kind == Kind::Event)
            .filter_map(|k| k.ttl)
            .collect();
        assert!(events
            .iter()
            .all(|t| (EVENT_TTL / 4..=EVENT_TTL).contains(t)));
        assert!(events.iter().min() < Some(&(EVENT_TTL / 2)));
        assert!(events.iter().max() > Some(&(EVENT_TTL * 9 / 10)));
    }

    #[test]
    fn expiring_keys_are_part_of_the_total_and_short() {
        let plan = SeedPlan::with_expiring(500, 12);
        assert_eq!(plan.keys.len(), 500);
        let expiring: Vec<&SeedKey> = plan
            .keys
            .iter()
            .filter(|k| k.kind == Kind::Expiring)
            .collect();
        assert_eq!(expiring.len(), 12);
        assert!(expiring
            .iter()
            .all(|k| (5..=EXPIRING_TTL).contains(&k.ttl.unwrap())));
        assert!(expiring
            .iter()
            .any(|k| k.key.starts_with("/kubernetes.io/leases/")));
    }
}
