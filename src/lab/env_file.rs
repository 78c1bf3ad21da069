//! `DIR/env`: a shell file that points plain `etcdctl` at the lab for the v3 API
//! (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT/CERT/KEY), and defines `etcdctl2`, etcdctl with
//! `ETCDCTL_API=2` and the v2 names of the same TLS files (ETCDCTL_CA_FILE/CERT_FILE/KEY_FILE),
//! which are not exported: etcdctl v3 warns about every variable it does not know.
//! `DIR/env-external` does the same for the spare host of a lab of embedded etcd, once the
//! move to it made its etcd and certificates.

use super::fsutil::shell_quote;
use super::layout::LabLayout;
use super::state::LabState;
use crate::ops::etcd::TlsFiles;
use std::path::Path;

/// The variables, in file order. TLS files are the first member's peer certificate,
/// which has clientAuth like openshift-ansible's, or an embedded etcd's master's client
/// certificate (`super::client_tls_files`).
pub fn variables(layout: &LabLayout, state: &LabState) -> Vec<(&'static str, String)> {
    let tls = state.tls.then(|| super::client_tls_files(layout, state));
    variables_for(layout, &state.client_urls(), tls.as_ref())
}

/// The variables of `env-external`: the spare host's client URL and, on a TLS lab, the CA
/// and peer certificate the move puts in its `etc/etcd`, as `variables` names a member's.
/// `None` without a spare host.
pub fn external_variables(
    layout: &LabLayout,
    state: &LabState,
) -> Option<Vec<(&'static str, String)>> {
    let spare = state.spare.as_ref()?;
    let host = layout.host(&spare.name);
    let tls = state
        .tls
        .then(|| TlsFiles::in_dir(&host.etcd_conf_dir(), "ca.crt", "peer.crt", "peer.key"));
    Some(variables_for(
        layout,
        &[state.client_url(spare)],
        tls.as_ref(),
    ))
}

fn variables_for(
    layout: &LabLayout,
    endpoints: &[String],
    tls: Option<&TlsFiles>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("RUNBOOK_LAB_DIR", layout.dir.to_string_lossy().into_owned()),
        // Both etcdctl v3 and v2 mode (ETCDCTL_API=2) read ETCDCTL_ENDPOINTS.
        ("ETCDCTL_ENDPOINTS", endpoints.join(",")),
    ];
    if let Some(files) = tls {
        let [ca, cert, key] = [&files.ca_file, &files.cert_file, &files.key_file]
            .map(|path| path.to_string_lossy().into_owned());
        vars.extend([
            ("ETCDCTL_CACERT", ca),
            ("ETCDCTL_CERT", cert),
            ("ETCDCTL_KEY", key),
        ]);
    }
    vars
}

/// The file's text.
pub fn render(layout: &LabLayout, state: &LabState) -> String {
    render_file(layout, &layout.env_file(), "", &variables(layout, state))
}

/// `env-external`'s text, `None` without a spare host.
pub fn render_external(layout: &LabLayout, state: &LabState) -> Option<String> {
    let spare = state.spare.as_ref()?;
    let note = format!(
        "# The etcd the move to the spare host {} makes (runbooks/{}); until then nothing \
         answers here.\n",
        spare.name,
        super::spare_host::RUNBOOK
    );
    Some(render_file(
        layout,
        &layout.external_env_file(),
        &note,
        &external_variables(layout, state)?,
    ))
}

fn render_file(
    layout: &LabLayout,
    file: &Path,
    note: &str,
    variables: &[(&'static str, String)],
) -> String {
    let mut text = format!(
        "# Point etcdctl at the runbook lab in {}:\n#   . {}\n\
         # v3: etcdctl endpoint health; v2: etcdctl2 cluster-health\n{note}",
        layout.dir.display(),
        shell_quote(&file.to_string_lossy()),
    );
    for (name, value) in variables {
        text.push_str(&format!("export {name}={}\n", shell_quote(value)));
    }
    text.push_str(&v2_function(variables));
    text
}

/// The v3 names of the TLS variables and the names etcdctl's v2 mode reads them by.
const V2_NAMES: [(&str, &str); 3] = [
    ("ETCDCTL_CACERT", "ETCDCTL_CA_FILE"),
    ("ETCDCTL_CERT", "ETCDCTL_CERT_FILE"),
    ("ETCDCTL_KEY", "ETCDCTL_KEY_FILE"),
];

/// `etcdctl2() { ETCDCTL_API=2 ETCDCTL_CA_FILE=... etcdctl "$@"; }`: the v2 API with the
/// same endpoints and TLS files, set for that command only.
fn v2_function(variables: &[(&'static str, String)]) -> String {
    let mut assignments = String::from("ETCDCTL_API=2");
    for (v3, v2) in V2_NAMES {
        if let Some((_, value)) = variables.iter().find(|(name, _)| *name == v3) {
            assignments.push_str(&format!(" {v2}={}", shell_quote(value)));
        }
    }
    format!("# v2: etcdctl2 cluster-health\netcdctl2() {{ {assignments} etcdctl \"$@\"; }}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(spare: bool) -> LabState {
        let mut value = serde_json::json!({
            "kind": "runbook-lab", "version": 1, "tls": true, "keys": 10,
            "layout": "embedded", "master": "master-1", "ready": true,
            "members": [{"name": "master-1", "client_port": 14001, "peer_port": 17001}],
        });
        if spare {
            value["spare"] = serde_json::json!(
                {"name": "etcd-1", "client_port": 14003, "peer_port": 17003}
            );
        }
        serde_json::from_value(value).unwrap()
    }

    /// `env-external` names the spare host's URL and the CA and peer certificate the move
    /// puts in its `etc/etcd`, for both etcdctl APIs; `env` stays the master's.
    #[test]
    fn env_external_points_at_the_spare_hosts_etcd() {
        let layout = LabLayout::new(Path::new("/my lab"));
        assert!(render_external(&layout, &state(false)).is_none());
        let state = state(true);
        let vars = external_variables(&layout, &state).unwrap();
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        let conf = "/my lab/hosts/etcd-1/etc/etcd";
        assert_eq!(get("ETCDCTL_ENDPOINTS"), Some("https://127.0.0.1:14003"));
        for (name, file) in [
            ("ETCDCTL_CACERT", "ca.crt"),
            ("ETCDCTL_CERT", "peer.crt"),
            ("ETCDCTL_KEY", "peer.key"),
        ] {
            assert_eq!(get(name), Some(format!("{conf}/{file}").as_str()), "{name}");
        }
        let text = render_external(&layout, &state).unwrap();
        assert!(text.contains("'/my lab/env-external'"), "{text}");
        assert!(
            text.contains(&format!("etcdctl2() {{ ETCDCTL_API=2 ETCDCTL_CA_FILE='{conf}/ca.crt' ETCDCTL_CERT_FILE='{conf}/peer.crt' ETCDCTL_KEY_FILE='{conf}/peer.key' etcdctl \"$@\"; }}")),
            "{text}"
        );
        assert!(!text.contains("export ETCDCTL_CA_FILE"), "{text}");
        let env = variables(&layout, &state);
        assert!(env.contains(&("ETCDCTL_ENDPOINTS", "https://127.0.0.1:14001".to_string())));
    }
}
