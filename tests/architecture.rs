//! The layout docs/architecture.md describes, checked on the source itself: no two files of
//! `src/` import each other (a `crate::` or `super::` path in one that names the other, and
//! back), `src/ops/etcd` holds its concerns in folders, and the Rhai adapters under
//! `src/script/api/etcd` come in the same groups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// `src/a/b.rs` -> `[a, b]`, `src/a/mod.rs` -> `[a]`, `src/lib.rs` -> `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a file names (`crate::a::b::C`, `super::x::y`, `crate::a::{b, c::d}`), as
/// module paths from the crate root, outside its `#[cfg(test)]` part.
fn named_paths(file: &Path, text: &str) -> Vec<Vec<String>> {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    let me = module_path(file);
    let mut found = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let starts_word = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        let (base, after) = if starts_word && rest.starts_with(b"crate::") {
            (Vec::new(), i + "crate::".len())
        } else if starts_word && rest.starts_with(b"super::") {
            let mut base = me.clone();
            base.pop();
            let mut at = i + "super::".len();
            while bytes[at..].starts_with(b"super::") {
                base.pop();
                at += "super::".len();
            }
            (base, at)
        } else {
            i += 1;
            continue;
        };
        // One path, or a `{...}` group of paths at its end (all ASCII: byte offsets are safe).
        let mut segments = Vec::new();
        let mut at = after;
        loop {
            let length = bytes[at..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if length == 0 {
                break;
            }
            segments.push(body[at..at + length].to_string());
            at += length;
            if bytes[at..].starts_with(b"::") {
                at += 2;
            } else {
                break;
            }
        }
        let mut prefix = base.clone();
        prefix.extend(segments);
        if bytes.get(at) == Some(&b'{') {
            let close = bytes[at..]
                .iter()
                .position(|c| *c == b'}')
                .map_or(bytes.len(), |c| at + c);
            for item in body[at + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if item.is_empty() || item == "self" || item.contains('{') {
                    continue;
                }
                let mut path = prefix.clone();
                path.extend(item.split("::").map(str::to_string));
                found.push(path);
            }
        }
        found.push(prefix);
        i = at.max(i + 1);
    }
    found
}

#[test]
fn no_two_files_of_src_import_each_other() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_path(f), f.clone())).collect();
    let resolve = |path: &[String]| -> Option<PathBuf> {
        (1..=path.len())
            .rev()
            .find_map(|n| modules.get(&path[..n]).cloned())
    };
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let targets = edges.entry(file.clone()).or_default();
        for path in named_paths(file, &text) {
            if let Some(target) = resolve(&path) {
                if &target != file {
                    targets.insert(target);
                }
            }
        }
    }
    let mut mutual = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            if a < b && edges.get(b).is_some_and(|back| back.contains(a)) {
                mutual.push(format!("{} <-> {}", a.display(), b.display()));
            }
        }
    }
    assert!(
        mutual.is_empty(),
        "files importing each other:\n{}",
        mutual.join("\n")
    );
    // The check sees imports at all: the engine imports the adapters, and so on.
    assert!(edges.values().map(BTreeSet::len).sum::<usize>() > 200);
}

fn names(dir: &Path, dirs: bool) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() == dirs)
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn etcd_operations_live_in_one_folder_per_concern_and_the_adapters_follow_them() {
    let ops = src().join("ops/etcd");
    let loose = names(&ops, false);
    assert!(
        loose.len() <= 3,
        "files directly in src/ops/etcd: {loose:?}"
    );
    let groups = names(&ops, true);
    for group in [
        "client",
        "host",
        "cluster",
        "membership",
        "backup",
        "migrate",
        "rollback",
        "lease",
        "v2store",
    ] {
        assert!(
            groups.contains(group),
            "no src/ops/etcd/{group}: {groups:?}"
        );
    }
    let mut adapters = names(&src().join("script/api/etcd"), false);
    adapters.remove("mod");
    for adapter in &adapters {
        assert!(
            groups.contains(adapter),
            "the adapter {adapter} has no ops group"
        );
    }
    // Every group that scripts reach has its adapter; the lower ones are reached through them.
    for group in [
        "cluster",
        "membership",
        "backup",
        "migrate",
        "rollback",
        "lease",
    ] {
        assert!(
            adapters.contains(group),
            "no src/script/api/etcd/{group}.rs"
        );
    }
}
