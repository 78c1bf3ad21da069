//! A client for etcd's v2 HTTP API (`/v2/keys`, `/health`): keep-alive connections,
//! keys URL-encoded segment by segment, TTLs, directories, recursive reads.

use crate::ops::etcd::client::tls::{TlsError, TlsMaterial};
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long one request may take unless the caller says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// etcd's v2 error code for "Key not found".
pub const ERROR_KEY_NOT_FOUND: u64 = 100;
/// etcd's v2 error code for "Key already exists".
pub const ERROR_NODE_EXIST: u64 = 105;

/// A v2 client for one or more members. Cheap to clone (connections are shared).
#[derive(Clone)]
pub struct V2Client {
    http: reqwest::Client,
    endpoints: Arc<Vec<reqwest::Url>>,
    next: Arc<AtomicUsize>,
}

/// A node of the v2 keyspace, as the API returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Node {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub dir: bool,
    /// Seconds left before the key expires, when it has a TTL.
    #[serde(default)]
    pub ttl: Option<i64>,
    #[serde(default)]
    pub expiration: Option<String>,
    #[serde(default)]
    pub nodes: Vec<V2Node>,
    #[serde(default)]
    pub created_index: u64,
    #[serde(default)]
    pub modified_index: u64,
}

impl V2Node {
    /// Leaf keys (not directories) in this node and below.
    pub fn leaf_count(&self) -> u64 {
        if self.dir {
            self.nodes.iter().map(V2Node::leaf_count).sum()
        } else {
            1
        }
    }
}

#[derive(Deserialize)]
struct NodeResponse {
    node: V2Node,
}

// Counting needs only the tree's shape; values are skipped while parsing.
#[derive(Deserialize)]
struct ShapeNode {
    #[serde(default)]
    dir: bool,
    #[serde(default)]
    nodes: Vec<ShapeNode>,
}

impl ShapeNode {
    fn leaf_count(&self) -> u64 {
        if self.dir {
            self.nodes.iter().map(ShapeNode::leaf_count).sum()
        } else {
            1
        }
    }
}

#[derive(Deserialize)]
struct ShapeResponse {
    node: ShapeNode,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiErrorBody {
    error_code: u64,
    message: String,
    #[serde(default)]
    cause: Option<String>,
}

/// Why a v2 request failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum V2Error {
    #[error("{url} is not a usable etcd client URL: {reason}")]
    #[diagnostic(
        code(runbook::etcd::v2::url),
        help("client URLs look like https://10.0.0.1:2379 (etcd_url_scheme, etcd_ip, etcd_client_port)")
    )]
    Url { url: String, reason: String },
    #[error("no etcd endpoint given")]
    #[diagnostic(
        code(runbook::etcd::v2::no_endpoint),
        help("the [etcd] group of the inventory must list at least one member")
    )]
    NoEndpoint,
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot build the HTTP client: {0}")]
    #[diagnostic(code(runbook::etcd::v2::client))]
    Client(String),
    #[error("v2 {method} {key} on {endpoint} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::v2::request),
        help("check that etcd is running on {endpoint} and that the URL scheme and TLS files match the member's configuration")
    )]
    Request {
        method: &'static str,
        key: String,
        endpoint: String,
        reason: String,
    },
    #[error("v2 {method} {key} on {endpoint}: etcd error {error_code}: {message}")]
    #[diagnostic(code(runbook::etcd::v2::api))]
    Api {
        method: &'static str,
        key: String,
        endpoint: String,
        status: u16,
        error_code: u64,
        message: String,
    },
    #[error("v2 {method} {key} on {endpoint}: unexpected answer (HTTP {status}): {reason}")]
    #[diagnostic(
        code(runbook::etcd::v2::decode),
        help("is {endpoint} an etcd client URL with the v2 API enabled (ETCD_ENABLE_V2=true)?")
    )]
    Decode {
        method: &'static str,
        key: String,
        endpoint: String,
        status: u16,
        reason: String,
    },
}

impl V2Error {
    /// The etcd error code (100 key not found, 105 already exists, ...), if etcd answered with one.
    pub fn error_code(&self) -> Option<u64> {
        match self {
            V2Error::Api { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }
}

/// What to do with a key on `set`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetOptions {
    /// Expire the key after this many seconds.
    pub ttl: Option<u64>,
}

impl V2Client {
    /// A client for `endpoints` (client URLs such as `https://127.0.0.1:2379`), with TLS when given.
    pub fn new(endpoints: &[String], tls: Option<&TlsMaterial>) -> Result<V2Client, V2Error> {
        Self::with_timeout(endpoints, tls, DEFAULT_REQUEST_TIMEOUT)
    }

    /// Like [`V2Client::new`], with a per-request timeout.
    pub fn with_timeout(
        endpoints: &[String],
        tls: Option<&TlsMaterial>,
        timeout: Duration,
    ) -> Result<V2Client, V2Error> {
        if endpoints.is_empty() {
            return Err(V2Error::NoEndpoint);
        }
        let urls = endpoints
            .iter()
            .map(|e| {
                reqwest::Url::parse(e).map_err(|err| V2Error::Url {
                    url: e.clone(),
                    reason: err.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let builder = match tls {
            Some(tls) => tls.reqwest_builder()?,
            None => reqwest::Client::builder(),
        };
        Self::from_builder(urls, builder, timeout)
    }

    /// A client for parsed `endpoints` over a prepared HTTP client builder (for
    /// example one whose TLS checks a member's name while dialling a tunnel).
    pub fn from_builder(
        urls: Vec<reqwest::Url>,
        builder: reqwest::ClientBuilder,
        timeout: Duration,
    ) -> Result<V2Client, V2Error> {
        if urls.is_empty() {
            return Err(V2Error::NoEndpoint);
        }
        let http = builder
            .timeout(timeout)
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| V2Error::Client(e.to_string()))?;
        Ok(V2Client {
            http,
            endpoints: Arc::new(urls),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The client URLs this client talks to.
    pub fn endpoints(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .collect()
    }

    /// A client for the `index`-th endpoint only, sharing this client's connections.
    pub fn member(&self, index: usize) -> Option<V2Client> {
        let url = self.endpoints.get(index)?.clone();
        Some(V2Client {
            http: self.http.clone(),
            endpoints: Arc::new(vec![url]),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The URL of `key` under `/v2/keys` on `endpoint`, each segment percent-encoded.
    pub fn key_url(endpoint: &reqwest::Url, key: &str) -> reqwest::Url {
        let mut url = endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["v2", "keys"]);
            segments.extend(key.split('/').filter(|s| !s.is_empty()));
        }
        url
    }

    /// Sets `key` to `value`, with a TTL if given.
    pub async fn set(&self, key: &str, value: &str, options: SetOptions) -> Result<(), V2Error> {
        let ttl = options.ttl.map(|t| t.to_string());
        let mut form: Vec<(&str, &str)> = vec![("value", value)];
        if let Some(ttl) = &ttl {
            form.push(("ttl", ttl));
        }
        self.send("PUT", key, &[], Some(&form)).await.map(|_| ())
    }

    /// Creates the directory `key`; fails with error code 105 if it exists.
    pub async fn mkdir(&self, key: &str) -> Result<(), V2Error> {
        let form = [("dir", "true"), ("prevExist", "false")];
        self.send("PUT", key, &[], Some(&form)).await.map(|_| ())
    }

    /// Deletes the directory `key` and everything under it; `false` if it did not exist.
    pub async fn delete_dir(&self, key: &str) -> Result<bool, V2Error> {
        let query = [("recursive", "true"), ("dir", "true")];
        match self.send("DELETE", key, &query, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.error_code() == Some(ERROR_KEY_NOT_FOUND) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads `key` (a value, or a directory with its children when `recursive`).
    pub async fn get(&self, key: &str, recursive: bool) -> Result<V2Node, V2Error> {
        let query: &[(&str, &str)] = if recursive {
            &[("recursive", "true"), ("sorted", "true")]
        } else {
            &[]
        };
        let (endpoint, status, body) = self.send("GET", key, query, None).await?;
        serde_json::from_slice::<NodeResponse>(&body)
            .map(|r| r.node)
            .map_err(|e| V2Error::Decode {
                method: "GET",
                key: key.to_string(),
                endpoint,
                status,
                reason: e.to_string(),
            })
    }

    /// Like [`V2Client::get`], but `None` when the key does not exist.
    pub async fn get_opt(&self, key: &str, recursive: bool) -> Result<Option<V2Node>, V2Error> {
        match self.get(key, recursive).await {
            Ok(node) => Ok(Some(node)),
            Err(e) if e.error_code() == Some(ERROR_KEY_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Leaf keys (not directories) under `prefix` (`/` for all), 0 if it does not exist.
    pub async fn count_leaves(&self, prefix: &str) -> Result<u64, V2Error> {
        let query = [("recursive", "true")];
        let (endpoint, status, body) = match self.send("GET", prefix, &query, None).await {
            Ok(answer) => answer,
            Err(e) if e.error_code() == Some(ERROR_KEY_NOT_FOUND) => return Ok(0),
            Err(e) => return Err(e),
        };
        serde_json::from_slice::<ShapeResponse>(&body)
            .map(|r| r.node.leaf_count())
            .map_err(|e| V2Error::Decode {
                method: "GET",
                key: prefix.to_string(),
                endpoint,
                status,
                reason: e.to_string(),
            })
    }

    /// Whether the first endpoint answers `/health` with `"health": "true"`.
    pub async fn health(&self) -> Result<bool, V2Error> {
        let endpoint = &self.endpoints[0];
        let mut url = endpoint.clone();
        url.set_path("/health");
        let fail = |reason: String| V2Error::Request {
            method: "GET",
            key: "/health".into(),
            endpoint: endpoint.to_string(),
            reason,
        };
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let body: serde_json::Value = response.json().await.map_err(|e| fail(e.to_string()))?;
        Ok(matches!(
            body.get("health"),
            Some(serde_json::Value::String(s)) if s == "true"
        ) || body.get("health") == Some(&serde_json::Value::Bool(true)))
    }

    // Sends one request, moving to the next endpoint when one cannot be reached.
    async fn send(
        &self,
        method: &'static str,
        key: &str,
        query: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Result<(String, u16, Vec<u8>), V2Error> {
        let count = self.endpoints.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let mut last_error = None;
        for attempt in 0..count {
            let endpoint = &self.endpoints[(start + attempt) % count];
            let url = Self::key_url(endpoint, key);
            let request = match method {
                "PUT" => self.http.put(url),
                "DELETE" => self.http.delete(url),
                _ => self.http.get(url),
            };
            let request = request.query(query);
            let request = match form {
                Some(form) => request.form(form),
                None => request,
            };
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    last_error = Some(V2Error::Request {
                        method,
                        key: key.to_string(),
                        endpoint: endpoint.to_string(),
                        reason: error_chain(&e),
                    });
                    if e.is_connect() {
                        continue;
                    }
                    break;
                }
            };
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| V2Error::Request {
                method,
                key: key.to_string(),
                endpoint: endpoint.to_string(),
                reason: error_chain(&e),
            })?;
            if (200..300).contains(&status) {
                return Ok((endpoint.to_string(), status, body.to_vec()));
            }
            return Err(match serde_json::from_slice::<ApiErrorBody>(&body) {
                Ok(api) => V2Error::Api {
                    method,
                    key: key.to_string(),
                    endpoint: endpoint.to_string(),
                    status,
                    error_code: api.error_code,
                    message: match api.cause {
                        Some(cause) if !cause.is_empty() => format!("{} ({cause})", api.message),
                        _ => api.message,
                    },
                },
                Err(_) => V2Error::Decode {
                    method,
                    key: key.to_string(),
                    endpoint: endpoint.to_string(),
                    status,
                    reason: String::from_utf8_lossy(&body).chars().take(200).collect(),
                },
            });
        }
        Err(last_error.unwrap_or(V2Error::NoEndpoint))
    }
}

// reqwest's Display hides the cause ("error sending request"); the chain names it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_url_encodes_each_segment() {
        let base = reqwest::Url::parse("http://127.0.0.1:2379").unwrap();
        let url = V2Client::key_url(&base, "/kubernetes.io/configmaps/проект/a b?#%");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:2379/v2/keys/kubernetes.io/configmaps/%D0%BF%D1%80%D0%BE%D0%B5%D0%BA%D1%82/a%20b%3F%23%25"
        );
        assert_eq!(
            V2Client::key_url(&base, "/").as_str(),
            "http://127.0.0.1:2379/v2/keys"
        );
    }

    #[test]
    fn leaf_count_skips_directories() {
        let tree: V2Node = serde_json::from_str(
            r#"{"key":"/","dir":true,"nodes":[{"key":"/a","value":"1"},{"key":"/d","dir":true,"nodes":[{"key":"/d/b","value":"2"}]},{"key":"/e","dir":true}]}"#,
        )
        .unwrap();
        assert_eq!(tree.leaf_count(), 2);
    }
}
