//! `runbook doc` and docs/primitives.md come from one registry, and the registry
//! covers every function the engine registers for runbooks (nothing undocumented,
//! nothing documented that does not exist).

use crate::support::command::{repo_root, Runbook};
use runbook::script::api;
use runbook::script::registry::PRIMITIVES;
use std::collections::BTreeSet;

/// `(object, name)` of every function a plugin module gives runbooks.
fn registered() -> BTreeSet<(String, String)> {
    // The engine's own list: nothing registered escapes this check.
    let modules = api::modules();
    let mut found = BTreeSet::new();
    for (object, module) in modules {
        for signature in module.gen_fn_signatures_with_mapper(|s| s.into()) {
            let (name, rest) = signature.split_once('(').unwrap();
            let first_type = rest
                .split([',', ')'])
                .next()
                .unwrap_or("")
                .split(':')
                .nth(1)
                .unwrap_or("")
                .trim()
                .to_string();
            let name = name.trim_start_matches("get$").to_string();
            // Rendering and comparison helpers, and the fields of reports, are not primitives.
            if matches!(name.as_str(), "to_string" | "to_debug" | "==")
                || matches!(
                    first_type.as_str(),
                    "&mut HealthReport" | "&mut StatusReport" | "&mut HashKvReport"
                )
            {
                continue;
            }
            let object = match (first_type.as_str(), name.as_str()) {
                ("&mut Array", _) => "hosts",
                ("&mut ScriptLease", _) => "lease",
                _ => object,
            };
            found.insert((object.to_string(), name));
        }
    }
    found
}

#[test]
fn the_registry_documents_exactly_the_registered_primitives() {
    let registered = registered();
    let documented: BTreeSet<(String, String)> = PRIMITIVES
        .iter()
        .filter(|p| !matches!(p.object, "" | "error" | "row"))
        .map(|p| (p.object.to_string(), p.name.to_string()))
        .collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "registered but not in the registry: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "in the registry but not registered: {phantom:?}"
    );
}

#[test]
fn docs_primitives_md_is_generated_from_the_registry() {
    let generated = Runbook::new()
        .args(["doc", "--markdown"])
        .run()
        .success()
        .stdout;
    let committed = std::fs::read_to_string(repo_root().join("docs/primitives.md")).unwrap();
    assert_eq!(
        committed, generated,
        "docs/primitives.md is out of date: run `runbook doc --markdown > docs/primitives.md`"
    );
}

#[test]
fn doc_describes_one_primitive_or_refuses_an_unknown_name() {
    Runbook::new()
        .args(["doc", "etcd.migrate"])
        .run()
        .success()
        .stdout_has("etcd.migrate(host) -> #{host, result, v2_keys, hidden_keys, ttl_keys, v2_store, output}")
        .stdout_has("changes hosts or the cluster");
    Runbook::new()
        .args(["doc", "lease.attach"])
        .run()
        .success()
        .stdout_has("example: lease.attach(\"/kubernetes.io/events\", \"1h\");");
    Runbook::new()
        .args(["doc", "etcd.frobnicate"])
        .run()
        .code(2)
        .stderr_has("no primitive or stdlib function named `etcd.frobnicate`");
    Runbook::new()
        .args(["doc", "openshift::masters"])
        .run()
        .success()
        .stdout_has("openshift::masters()\n    The masters, in inventory order.")
        .stdout_has("import \"openshift\" as openshift;");
}

/// `runbook check` plans exactly what the registry says changes something: every
/// changing primitive hands its registry name to `planned_change`, and no name handed
/// there is unknown or read-only.
#[test]
fn every_changing_primitive_reports_its_change_by_its_registry_name() {
    // Every adapter, in src/script/api and its folders.
    let mut sources = String::new();
    let mut dirs = vec![repo_root().join("src/script/api")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    // A changing primitive that shares its code with another uses that one's name.
    let shares = |name: &str| match name {
        "host.try_run" => "host.run".to_string(),
        "hosts.try_run_all" => "hosts.run_all".to_string(),
        other => other.to_string(),
    };
    let missing: Vec<String> = PRIMITIVES
        .iter()
        .filter(|p| p.changes && !p.object.is_empty())
        .map(|p| shares(&p.full_name()))
        .filter(|name| !sources.contains(&format!("\"{name}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "changing primitives that never call planned_change with their name: {missing:?}"
    );
    let mut named = Vec::new();
    for part in sources.split("planned_change(").skip(1) {
        if let Some(literal) = part.strip_prefix('"') {
            named.push(literal.split('"').next().unwrap().to_string());
        }
    }
    for (object, name) in [("master", "patch"), ("master", "unpatch")].iter().chain(&[
        ("service", "start"),
        ("service", "stop"),
        ("service", "restart"),
    ]) {
        named.push(format!("{object}.{name}"));
    }
    assert!(named.len() >= 15, "{named:?}");
    for name in named {
        assert!(
            runbook::script::registry::changes(&name)
                && PRIMITIVES.iter().any(|p| p.full_name() == name),
            "planned_change({name:?}) names no changing primitive of the registry"
        );
    }
}
