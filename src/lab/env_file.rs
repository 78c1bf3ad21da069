//! `DIR/env`: a shell file that points plain `etcdctl` at the lab, for the v3 API
//! (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT/CERT/KEY) and the v2 API with `ETCDCTL_API=2`
//! (ETCDCTL_CA_FILE/CERT_FILE/KEY_FILE; etcdctl v3 warns that it does not know these).

use super::fsutil::shell_quote;
use super::layout::LabLayout;
use super::state::LabState;

/// The variables, in file order. TLS files are the first member's peer certificate,
/// which has clientAuth like openshift-ansible's, or an embedded etcd's master's client
/// certificate (`super::client_tls_files`).
pub fn variables(layout: &LabLayout, state: &LabState) -> Vec<(&'static str, String)> {
    let endpoints = state.client_urls().join(",");
    let mut vars = vec![
        ("RUNBOOK_LAB_DIR", layout.dir.to_string_lossy().into_owned()),
        // Both etcdctl v3 and v2 mode (ETCDCTL_API=2) read ETCDCTL_ENDPOINTS.
        ("ETCDCTL_ENDPOINTS", endpoints),
    ];
    if state.tls {
        let files = super::client_tls_files(layout, state);
        let [ca, cert, key] = [&files.ca_file, &files.cert_file, &files.key_file]
            .map(|path| path.to_string_lossy().into_owned());
        vars.extend([
            ("ETCDCTL_CACERT", ca.clone()),
            ("ETCDCTL_CERT", cert.clone()),
            ("ETCDCTL_KEY", key.clone()),
            ("ETCDCTL_CA_FILE", ca),
            ("ETCDCTL_CERT_FILE", cert),
            ("ETCDCTL_KEY_FILE", key),
        ]);
    }
    vars
}

/// The file's text.
pub fn render(layout: &LabLayout, state: &LabState) -> String {
    let mut text = format!(
        "# Point etcdctl at the runbook lab in {}:\n#   . {}\n\
         # v3: etcdctl endpoint health; v2: ETCDCTL_API=2 etcdctl cluster-health\n",
        layout.dir.display(),
        shell_quote(&layout.env_file().to_string_lossy()),
    );
    for (name, value) in variables(layout, state) {
        text.push_str(&format!("export {name}={}\n", shell_quote(&value)));
    }
    text
}
