//! Switching a master-config.yaml between etcd2 and etcd3 storage: set or remove
//! `kubernetesMasterConfig.apiServerArguments.storage-backend: [etcd3]` and
//! `storage-media-type: [application/vnd.kubernetes.protobuf]`, keeping every
//! other key and the key order.

use serde_yaml::{Mapping, Value};

/// The keys the migration adds, with their values.
pub const STORAGE_ARGUMENTS: [(&str, &str); 2] = [
    ("storage-backend", "etcd3"),
    ("storage-media-type", "application/vnd.kubernetes.protobuf"),
];

/// Why a master config could not be patched.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PatchError {
    #[error("{path} is not valid YAML: {reason}")]
    #[diagnostic(
        code(runbook::master::yaml),
        help("fix the file (or restore it from its backup) before running again")
    )]
    NotYaml { path: String, reason: String },
    #[error("{path}: `{key}` is a {found}, expected a mapping")]
    #[diagnostic(
        code(runbook::master::shape),
        help("kubernetesMasterConfig and its apiServerArguments must be mappings (key: [values]); fix the file by hand")
    )]
    NotAMapping {
        path: String,
        key: String,
        found: &'static str,
    },
}

/// The outcome of a patch or unpatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub text: String,
    /// False when the file already had the wanted shape (nothing to write).
    pub changed: bool,
}

/// Adds the etcd3 storage arguments (idempotent).
pub fn patch(path: &str, text: &str) -> Result<Patched, PatchError> {
    edit(path, text, |arguments| {
        let mut changed = false;
        for (key, value) in STORAGE_ARGUMENTS {
            let wanted = Value::Sequence(vec![Value::String(value.to_string())]);
            if arguments.get(key) != Some(&wanted) {
                arguments.insert(Value::String(key.to_string()), wanted);
                changed = true;
            }
        }
        changed
    })
}

/// Removes the storage arguments again (idempotent). Arguments left empty are written as
/// `apiServerArguments: null`, the way openshift-ansible's template leaves them, so the
/// result reads the same as the config the patch started from.
pub fn unpatch(path: &str, text: &str) -> Result<Patched, PatchError> {
    edit(path, text, |arguments| {
        let mut changed = false;
        for (key, _) in STORAGE_ARGUMENTS {
            changed |= arguments.shift_remove(key).is_some();
        }
        changed
    })
}

/// Whether the config already selects etcd3 storage.
pub fn is_patched(path: &str, text: &str) -> Result<bool, PatchError> {
    Ok(!patch(path, text)?.changed)
}

/// Parses the YAML (semantically, to compare configs).
pub fn parse(path: &str, text: &str) -> Result<Value, PatchError> {
    serde_yaml::from_str(text).map_err(|e| PatchError::NotYaml {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

fn edit(
    path: &str,
    text: &str,
    change: impl FnOnce(&mut Mapping) -> bool,
) -> Result<Patched, PatchError> {
    let mut document = parse(path, text)?;
    let root = as_mapping(path, "(the document)", &mut document)?;
    let master = child_mapping(path, root, "kubernetesMasterConfig")?;
    let arguments = child_mapping(path, master, "apiServerArguments")?;
    if !change(arguments) {
        return Ok(Patched {
            text: text.to_string(),
            changed: false,
        });
    }
    if arguments.is_empty() {
        // Only an unpatch empties them: the patch itself created this mapping, or filled a null.
        master.insert(Value::String("apiServerArguments".to_string()), Value::Null);
    }
    let text = serde_yaml::to_string(&document).map_err(|e| PatchError::NotYaml {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Patched {
        text,
        changed: true,
    })
}

fn as_mapping<'a>(
    path: &str,
    key: &str,
    value: &'a mut Value,
) -> Result<&'a mut Mapping, PatchError> {
    let found = kind(value);
    value
        .as_mapping_mut()
        .ok_or_else(|| PatchError::NotAMapping {
            path: path.to_string(),
            key: key.to_string(),
            found,
        })
}

/// The mapping under `key`, created when absent or null.
fn child_mapping<'a>(
    path: &str,
    parent: &'a mut Mapping,
    key: &str,
) -> Result<&'a mut Mapping, PatchError> {
    let entry = parent
        .entry(Value::String(key.to_string()))
        .or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Mapping(Mapping::new());
    }
    as_mapping(path, key, entry)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "apiVersion: v1\nkubernetesMasterConfig:\n  apiServerArguments:\n    runtime-config:\n    - apis/settings.k8s.io/v1alpha1=true\n  masterCount: 1\nzzz: last\n";

    #[test]
    fn patch_adds_both_arguments_and_keeps_the_rest_in_order() {
        let patched = patch("m.yaml", CONFIG).unwrap();
        assert!(patched.changed);
        assert_eq!(
            patched.text,
            "apiVersion: v1\nkubernetesMasterConfig:\n  apiServerArguments:\n    runtime-config:\n    - apis/settings.k8s.io/v1alpha1=true\n    storage-backend:\n    - etcd3\n    storage-media-type:\n    - application/vnd.kubernetes.protobuf\n  masterCount: 1\nzzz: last\n"
        );
        let again = patch("m.yaml", &patched.text).unwrap();
        assert!(!again.changed, "idempotent");
        assert!(is_patched("m.yaml", &patched.text).unwrap());
        let undone = unpatch("m.yaml", &patched.text).unwrap();
        assert!(undone.changed);
        assert_eq!(
            parse("m", &undone.text).unwrap(),
            parse("m", CONFIG).unwrap()
        );
        assert!(!unpatch("m.yaml", &undone.text).unwrap().changed);
    }

    #[test]
    fn unpatch_leaves_emptied_arguments_null_as_the_template_writes_them() {
        let original = "kubernetesMasterConfig:\n  apiServerArguments:\n  masterCount: 1\n";
        let patched = patch("m.yaml", original).unwrap();
        let undone = unpatch("m.yaml", &patched.text).unwrap();
        assert_eq!(
            parse("m", &undone.text).unwrap(),
            parse("m", original).unwrap(),
            "{}",
            undone.text
        );
        assert!(!unpatch("m.yaml", &undone.text).unwrap().changed);
    }

    #[test]
    fn a_wrong_value_is_corrected() {
        let text =
            "kubernetesMasterConfig:\n  apiServerArguments:\n    storage-backend:\n    - etcd2\n";
        let patched = patch("m.yaml", text).unwrap();
        assert!(patched.text.contains("storage-backend:\n    - etcd3"));
    }

    #[test]
    fn missing_or_null_sections_are_created() {
        let patched = patch(
            "m.yaml",
            "apiVersion: v1\nkubernetesMasterConfig:\n  apiServerArguments: null\n",
        )
        .unwrap();
        assert!(patched.text.contains("storage-media-type"));
        let patched = patch("m.yaml", "apiVersion: v1\n").unwrap();
        assert!(patched
            .text
            .contains("kubernetesMasterConfig:\n  apiServerArguments:\n    storage-backend"));
    }

    #[test]
    fn bad_shapes_and_bad_yaml_are_refused() {
        let err = patch(
            "m.yaml",
            "kubernetesMasterConfig:\n  apiServerArguments: [a, b]\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml: `apiServerArguments` is a list, expected a mapping"
        );
        assert!(matches!(
            patch("m.yaml", "a: [b\n"),
            Err(PatchError::NotYaml { .. })
        ));
        assert!(matches!(
            patch("m.yaml", "- a\n- b\n"),
            Err(PatchError::NotAMapping { .. })
        ));
    }
}
