//! Switching a master-config.yaml between etcd2 and etcd3 storage: set or remove
//! `kubernetesMasterConfig.apiServerArguments.storage-backend: [etcd3]` and
//! `storage-media-type: [application/vnd.kubernetes.protobuf]` as edits of those lines
//! only, every other byte of the file kept.

use super::yaml::edit::{self, Edit};
use serde_yaml::Value;

pub use super::yaml::edit::YamlEditError as PatchError;

/// The keys the migration adds, with their values.
pub const STORAGE_ARGUMENTS: [(&str, &str); 2] = [
    ("storage-backend", "etcd3"),
    ("storage-media-type", "application/vnd.kubernetes.protobuf"),
];

/// The outcome of a patch or unpatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub text: String,
    /// False when the file already had the wanted shape (nothing to write).
    pub changed: bool,
}

fn argument_path(key: &str) -> [&str; 3] {
    ["kubernetesMasterConfig", "apiServerArguments", key]
}

/// Adds the etcd3 storage arguments (idempotent).
pub fn patch(path: &str, text: &str) -> Result<Patched, PatchError> {
    let edits: Vec<Edit> = STORAGE_ARGUMENTS
        .iter()
        .map(|(key, value)| {
            Edit::set(
                &argument_path(key),
                Value::Sequence(vec![Value::String(value.to_string())]),
            )
        })
        .collect();
    patched(path, text, &edits)
}

/// Removes the storage arguments again (idempotent). Arguments left empty read as
/// `apiServerArguments:` with nothing below, null, the way openshift-ansible's template
/// leaves them.
pub fn unpatch(path: &str, text: &str) -> Result<Patched, PatchError> {
    let edits: Vec<Edit> = STORAGE_ARGUMENTS
        .iter()
        .map(|(key, _)| Edit::remove(&argument_path(key)))
        .collect();
    patched(path, text, &edits)
}

fn patched(path: &str, text: &str, edits: &[Edit]) -> Result<Patched, PatchError> {
    let edited = edit::apply(path, text, edits)?;
    Ok(Patched {
        changed: edited != text,
        text: edited,
    })
}

/// Whether the config already selects etcd3 storage.
pub fn is_patched(path: &str, text: &str) -> Result<bool, PatchError> {
    Ok(!patch(path, text)?.changed)
}

/// Parses the YAML (semantically, to compare configs).
pub fn parse(path: &str, text: &str) -> Result<Value, PatchError> {
    edit::parse(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::master::diff::changed_lines;

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
            patch(
                "m.yaml",
                "kubernetesMasterConfig: {apiServerArguments: {}}\n"
            ),
            Err(PatchError::Unsupported { line: 1, .. })
        ));
        assert!(matches!(
            patch("m.yaml", "- a\n- b\n"),
            Err(PatchError::NotAMapping { .. })
        ));
    }

    const RELEASE_37: &str = include_str!(
        "../../../tests/fixtures/master-config/openshift-ansible-3.7-external-etcd.yaml"
    );
    const RELEASE_36: &str = include_str!(
        "../../../tests/fixtures/master-config/openshift-ansible-3.6-embedded-etcd.yaml"
    );

    #[test]
    fn openshift_ansible_files_get_exactly_the_argument_lines_and_lose_them_again() {
        let added = [
            "+    storage-backend:",
            "+    - etcd3",
            "+    storage-media-type:",
            "+    - application/vnd.kubernetes.protobuf",
        ];
        for (name, text, after) in [
            (
                "3.7",
                RELEASE_37,
                "    - apis/settings.k8s.io/v1alpha1=true\n",
            ),
            ("3.6", RELEASE_36, "  apiServerArguments: \n"),
        ] {
            let patched = patch("m.yaml", text).unwrap();
            assert_eq!(changed_lines(text, &patched.text), added, "{name}");
            let at = text.find(after).unwrap() + after.len();
            assert!(
                patched.text[at..].starts_with("    storage-backend:\n"),
                "{name}"
            );
            let undone = unpatch("m.yaml", &patched.text).unwrap();
            assert_eq!(undone.text, text, "{name}: byte for byte");
        }
    }

    #[test]
    fn crlf_comments_and_tabs_are_kept() {
        let crlf = RELEASE_37.replace('\n', "\r\n");
        let patched = patch("m.yaml", &crlf).unwrap().text;
        assert_eq!(
            patched.matches('\n').count(),
            patched.matches("\r\n").count()
        );
        assert_eq!(
            patched.replace("\r\n", "\n"),
            patch("m.yaml", RELEASE_37).unwrap().text
        );
        assert_eq!(unpatch("m.yaml", &patched).unwrap().text, crlf);

        let commented = RELEASE_37
            .replace(
                "  apiServerArguments: \n",
                "  # arguments for the API server\t(see the docs)\n  apiServerArguments:   # set by the installer\n",
            )
            .replace("    - 2h\n", "    - 2h\t\t# two hours\n    # end of the arguments\n");
        let patched = patch("m.yaml", &commented).unwrap().text;
        assert_eq!(
            changed_lines(&commented, &patched),
            [
                "+    storage-backend:",
                "+    - etcd3",
                "+    storage-media-type:",
                "+    - application/vnd.kubernetes.protobuf",
            ]
        );
        assert!(patched.contains(
            "    - 2h\t\t# two hours\n    # end of the arguments\n    runtime-config:\n"
        ));
        assert_eq!(unpatch("m.yaml", &patched).unwrap().text, commented);
    }
}
