//! Rhai methods of `etcd` that read and write keys: v3 `get`, `put`, `delete`, v2 `v2_get`
//! and `v2_ls`, and every member's `key_counts`. Values come back as strings when they are
//! UTF-8, as blobs when not; the work is in `ops::etcd::data`.

use super::ScriptEtcd;
use crate::ops::etcd::client::v2::V2Node;
use crate::ops::etcd::data::range::{self, KeyEntry, RangeRequest};
use crate::ops::etcd::data::{key_counts, v2_read, write};
use crate::script::api::error::ScriptError;
use crate::script::api::options::Options;
use crate::script::api::row::Row;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The code of a key or value that is neither a string nor a blob.
pub const NOT_BYTES: &str = "runbook::etcd::data::not_bytes";

/// A key or value a script passes: a string (its UTF-8 bytes) or a blob.
fn bytes(value: &Dynamic, function: &str, what: &str) -> RhaiResult<Vec<u8>> {
    if value.is_string() {
        return Ok(value.to_string().into_bytes());
    }
    if let Some(blob) = value.clone().try_cast::<rhai::Blob>() {
        return Ok(blob);
    }
    Err(ScriptError::new(
        format!(
            "{function}: the {what} must be a string or a blob, not {}",
            value.type_name()
        ),
        NOT_BYTES,
        Some(format!("pass the {what} as text (\"...\") or as a blob")),
    )
    .into_rhai())
}

/// Bytes as a script gets them: a string when they are UTF-8, else a blob.
fn text_or_blob(bytes: &[u8]) -> Dynamic {
    match std::str::from_utf8(bytes) {
        Ok(text) => Dynamic::from(text.to_string()),
        Err(_) => Dynamic::from_blob(bytes.to_vec()),
    }
}

/// Bytes for a plan line.
fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn entry_map(entry: &KeyEntry, keys_only: bool) -> Dynamic {
    let mut map = Map::new();
    map.insert("key".into(), text_or_blob(&entry.key));
    map.insert(
        "value".into(),
        if keys_only {
            Dynamic::UNIT
        } else {
            text_or_blob(&entry.value)
        },
    );
    map.insert("create_revision".into(), entry.create_revision.into());
    map.insert("mod_revision".into(), entry.mod_revision.into());
    map.insert("version".into(), entry.version.into());
    map.insert("lease".into(), entry.lease.into());
    map.into()
}

fn cluster_client(ctx: &RunContext) -> RhaiResult<etcd_client::Client> {
    let members = ctx.etcd_members()?;
    ctx.block_on(ctx.etcd.v3_cluster(&members))
}

fn run_get(etcd: &ScriptEtcd, key: &Dynamic, options: &Map) -> RhaiResult<Array> {
    let ctx = &etcd.ctx;
    let key = bytes(key, "etcd.get", "key")?;
    let options = Options::new(
        "etcd.get",
        options,
        &["prefix", "keys_only", "limit", "revision"],
    )?;
    let request = RangeRequest {
        key,
        prefix: options.bool("prefix")?.unwrap_or(false),
        keys_only: options.bool("keys_only")?.unwrap_or(false),
        limit: options.count("limit", 1)?,
        revision: options.count("revision", 1)?.map(saturating_i64),
        page_keys: 0,
    };
    if ctx.planned_read(|| {
        let what = if request.prefix {
            "the keys under"
        } else {
            "the key"
        };
        format!("etcd v3 get {what} {}", shown(&request.key))
    }) {
        return Ok(Array::new());
    }
    let client = cluster_client(ctx)?;
    let answer = ctx.block_on(range::get(&client, &request, &ctx.cancel.token()))?;
    Ok(answer
        .entries
        .iter()
        .map(|e| entry_map(e, request.keys_only))
        .collect())
}

fn run_put(etcd: &ScriptEtcd, key: &Dynamic, value: &Dynamic, options: &Map) -> RhaiResult<Map> {
    let ctx = &etcd.ctx;
    let key = bytes(key, "etcd.put", "key")?;
    let value = bytes(value, "etcd.put", "value")?;
    let options = Options::new("etcd.put", options, &["lease"])?;
    let lease = options.count("lease", 1)?.map(saturating_i64);
    let mut out = Map::new();
    out.insert("key".into(), text_or_blob(&key));
    if ctx.planned_change("etcd.put", || {
        let on = lease
            .map(|l| format!(" on lease {l:x}"))
            .unwrap_or_default();
        format!("etcd v3 put {} ({} bytes){on}", shown(&key), value.len())
    })? {
        out.insert("revision".into(), 0_i64.into());
        return Ok(out);
    }
    let client = cluster_client(ctx)?;
    let put = ctx.block_on(write::put(&client, &key, &value, lease))?;
    out.insert("revision".into(), put.revision.into());
    Ok(out)
}

fn run_delete(etcd: &ScriptEtcd, key: &Dynamic, options: &Map) -> RhaiResult<Map> {
    let ctx = &etcd.ctx;
    let key = bytes(key, "etcd.delete", "key")?;
    let options = Options::new("etcd.delete", options, &["prefix"])?;
    let prefix = options.bool("prefix")?.unwrap_or(false);
    let mut out = Map::new();
    if ctx.planned_change("etcd.delete", || {
        let what = if prefix { "every key under" } else { "the key" };
        format!("etcd v3 delete {what} {}", shown(&key))
    })? {
        out.insert("deleted".into(), 0_i64.into());
        out.insert("revision".into(), 0_i64.into());
        return Ok(out);
    }
    let client = cluster_client(ctx)?;
    let deleted = ctx.block_on(write::delete(&client, &key, prefix))?;
    out.insert("deleted".into(), deleted.deleted.into());
    out.insert("revision".into(), deleted.revision.into());
    Ok(out)
}

fn v2_node_map(node: &V2Node, key: &str) -> Dynamic {
    let mut map = Map::new();
    map.insert(
        "key".into(),
        node.key.clone().unwrap_or_else(|| key.to_string()).into(),
    );
    map.insert(
        "value".into(),
        node.value
            .clone()
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT),
    );
    map.insert("dir".into(), node.dir.into());
    map.insert(
        "ttl".into(),
        node.ttl.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    map.insert(
        "created_index".into(),
        saturating_i64(node.created_index).into(),
    );
    map.insert(
        "modified_index".into(),
        saturating_i64(node.modified_index).into(),
    );
    map.into()
}

#[export_module]
pub mod data_api {
    use super::*;

    /// One v3 key: `[#{key, value, create_revision, mod_revision, version, lease}]`.
    #[rhai_fn(pure, return_raw)]
    pub fn get(etcd: &mut ScriptEtcd, key: Dynamic) -> RhaiResult<Array> {
        run_get(etcd, &key, &Map::new())
    }

    /// `get(key, #{prefix, keys_only, limit, revision})`.
    #[rhai_fn(name = "get", pure, return_raw)]
    pub fn get_with(etcd: &mut ScriptEtcd, key: Dynamic, options: Map) -> RhaiResult<Array> {
        run_get(etcd, &key, &options)
    }

    /// Puts a string or blob value under a v3 key: `#{key, revision}`.
    #[rhai_fn(pure, return_raw)]
    pub fn put(etcd: &mut ScriptEtcd, key: Dynamic, value: Dynamic) -> RhaiResult<Map> {
        run_put(etcd, &key, &value, &Map::new())
    }

    /// `put(key, value, #{lease})`.
    #[rhai_fn(name = "put", pure, return_raw)]
    pub fn put_with(
        etcd: &mut ScriptEtcd,
        key: Dynamic,
        value: Dynamic,
        options: Map,
    ) -> RhaiResult<Map> {
        run_put(etcd, &key, &value, &options)
    }

    /// Deletes a v3 key: `#{deleted, revision}`.
    #[rhai_fn(pure, return_raw)]
    pub fn delete(etcd: &mut ScriptEtcd, key: Dynamic) -> RhaiResult<Map> {
        run_delete(etcd, &key, &Map::new())
    }

    /// `delete(key, #{prefix})`.
    #[rhai_fn(name = "delete", pure, return_raw)]
    pub fn delete_with(etcd: &mut ScriptEtcd, key: Dynamic, options: Map) -> RhaiResult<Map> {
        run_delete(etcd, &key, &options)
    }

    /// One v2 key (or directory), or () when absent.
    #[rhai_fn(pure, return_raw)]
    pub fn v2_get(etcd: &mut ScriptEtcd, key: &str) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| format!("etcd v2 get {key}")) {
            return Ok(Dynamic::UNIT);
        }
        let members = ctx.etcd_members()?;
        let node = ctx.block_on(v2_read::v2_get(&ctx.etcd, &members, key))?;
        Ok(node.map(|n| v2_node_map(&n, key)).unwrap_or(Dynamic::UNIT))
    }

    /// The keys of a v2 directory's children, one level.
    #[rhai_fn(pure, return_raw)]
    pub fn v2_ls(etcd: &mut ScriptEtcd, dir: &str) -> RhaiResult<Array> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| format!("etcd v2 ls {dir}")) {
            return Ok(Array::new());
        }
        let members = ctx.etcd_members()?;
        let keys = ctx.block_on(v2_read::v2_ls(&ctx.etcd, &members, dir))?;
        Ok(keys.into_iter().map(Dynamic::from).collect())
    }

    /// Every member's v3 key count: `[#{member, host, v2, v3, error}]`.
    #[rhai_fn(pure, return_raw)]
    pub fn key_counts(etcd: &mut ScriptEtcd) -> RhaiResult<Array> {
        let ctx = &etcd.ctx;
        let members = ctx.etcd_members()?;
        let planned = ctx.planned_read(|| "every member's v3 key count".into());
        let counts = if planned {
            members
                .iter()
                .map(|m| key_counts::MemberKeyCount {
                    member: m.name.clone(),
                    host: m.host.name.clone(),
                    v3: Ok(0),
                })
                .collect()
        } else {
            ctx.runtime
                .block_on(key_counts::collect(&ctx.etcd, &members))
        };
        Ok(counts
            .into_iter()
            .map(|c| {
                let mut map = Map::new();
                map.insert("member".into(), c.member.into());
                map.insert("host".into(), c.host.into());
                // Not counted: see ops::etcd::data::key_counts.
                map.insert("v2".into(), Dynamic::UNIT);
                match c.v3 {
                    Ok(n) => {
                        map.insert("v3".into(), saturating_i64(n).into());
                        map.insert("error".into(), Dynamic::UNIT);
                    }
                    Err(e) => {
                        map.insert("v3".into(), Dynamic::UNIT);
                        map.insert("error".into(), e.into());
                    }
                }
                Row::from_map("an etcd.key_counts() entry", map)
            })
            .collect())
    }
}
