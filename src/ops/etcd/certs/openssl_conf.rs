//! The CA's `openssl.cnf`, as openshift-ansible's `deploy_ca.yml` assembles it: the host's
//! own openssl.cnf (`fragments/openssl.cnf`) followed by the sections of
//! `roles/etcd/templates/openssl_append.j2` (`fragments/openssl_append.cnf`), which name
//! the CA's files and the extensions of each kind of certificate.

use super::layout::CaLayout;

/// `etcd_ca_name`: the `openssl ca -name` section.
pub const CA_SECTION: &str = "etcd_ca";
/// `etcd_req_ext`: the extensions of every request (subjectAltName from `$SAN`).
pub const REQUEST_SECTION: &str = "etcd_v3_req";
/// `etcd_ca_exts_self`: the CA's own certificate.
pub const SELF_SECTION: &str = "etcd_v3_ca_self";
/// `etcd_ca_exts_server`: serverAuth.
pub const SERVER_SECTION: &str = "etcd_v3_ca_server";
/// `etcd_ca_exts_peer`: clientAuth and serverAuth.
pub const PEER_SECTION: &str = "etcd_v3_ca_peer";
/// `etcd_ca_exts_client`: clientAuth, the CA section's default.
pub const CLIENT_SECTION: &str = "etcd_v3_ca_client";

/// `etcd_ca_default_days`: five years, for the CA and everything it signs.
pub const DEFAULT_DAYS: u32 = 1825;

/// What `fragments/openssl.cnf` holds when the host has no openssl.cnf of its own to copy:
/// the `[ req ]` and `policy_anything` sections `openssl req` and `openssl ca` need.
pub const FALLBACK_BASE: &str =
    "# runbook: the host had no openssl.cnf to copy; the sections openssl req and ca need\n\
[ req ]\n\
distinguished_name = req_distinguished_name\n\
\n\
[ req_distinguished_name ]\n\
\n\
[ policy_anything ]\n\
countryName            = optional\n\
stateOrProvinceName    = optional\n\
localityName           = optional\n\
organizationName       = optional\n\
organizationalUnitName = optional\n\
commonName             = supplied\n\
emailAddress           = optional\n";

/// `fragments/openssl_append.cnf`: openshift-ansible's template with this CA's paths.
pub fn render_append(ca: &CaLayout) -> String {
    format!(
        "
[ {REQUEST_SECTION} ]
basicConstraints = critical,CA:FALSE
keyUsage         = digitalSignature,keyEncipherment
subjectAltName   = ${{ENV::SAN}}

[ {CA_SECTION} ]
dir             = {dir}
crl_dir         = {crl_dir}
database        = {database}
new_certs_dir   = {new_certs_dir}
certificate     = {certificate}
serial          = {serial}
private_key     = {private_key}
crl_number      = {crl_number}
x509_extensions = {CLIENT_SECTION}
default_days    = {DEFAULT_DAYS}
default_md      = sha256
preserve        = no
name_opt        = ca_default
cert_opt        = ca_default
policy          = policy_anything
unique_subject  = no
copy_extensions = copy

[ {SELF_SECTION} ]
authorityKeyIdentifier = keyid,issuer
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,digitalSignature,keyEncipherment,keyCertSign
subjectKeyIdentifier   = hash

[ {PEER_SECTION} ]
authorityKeyIdentifier = keyid,issuer:always
basicConstraints       = critical,CA:FALSE
extendedKeyUsage       = clientAuth,serverAuth
keyUsage               = digitalSignature,keyEncipherment
subjectKeyIdentifier   = hash

[ {SERVER_SECTION} ]
authorityKeyIdentifier = keyid,issuer:always
basicConstraints       = critical,CA:FALSE
extendedKeyUsage       = serverAuth
keyUsage               = digitalSignature,keyEncipherment
subjectKeyIdentifier   = hash

[ {CLIENT_SECTION} ]
authorityKeyIdentifier = keyid,issuer:always
basicConstraints       = critical,CA:FALSE
extendedKeyUsage       = clientAuth
keyUsage               = digitalSignature,keyEncipherment
subjectKeyIdentifier   = hash
",
        dir = ca.dir.trim_end_matches('/'),
        crl_dir = ca.crl_dir(),
        database = ca.database(),
        new_certs_dir = ca.new_certs_dir(),
        certificate = ca.cert(),
        serial = ca.serial(),
        private_key = ca.key(),
        crl_number = ca.crl_number(),
    )
}

/// The host's own openssl.cnf, from `openssl version -d` (`OPENSSLDIR: "/etc/pki/tls"` on
/// RHEL, whose `/etc/pki/tls/openssl.cnf` openshift-ansible copies).
pub fn system_config(version_d: &str) -> Option<String> {
    let line = version_d
        .lines()
        .find_map(|l| l.trim().strip_prefix("OPENSSLDIR:"))?;
    let dir = line.trim().trim_matches('"').trim_end_matches('/');
    (!dir.is_empty()).then(|| format!("{dir}/openssl.cnf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> CaLayout {
        CaLayout {
            dir: "/etc/etcd/ca".into(),
            generated_dir: "/etc/etcd/generated_certs".into(),
        }
    }

    #[test]
    fn the_append_fragment_is_openshift_ansibles_with_this_cas_paths() {
        let text = render_append(&layout());
        assert!(text.starts_with("\n[ etcd_v3_req ]\n"), "{text}");
        assert!(text.ends_with("subjectKeyIdentifier   = hash\n"), "{text}");
        for line in [
            "subjectAltName   = ${ENV::SAN}",
            "[ etcd_ca ]",
            "dir             = /etc/etcd/ca",
            "crl_dir         = /etc/etcd/ca/crl",
            "database        = /etc/etcd/ca/index.txt",
            "new_certs_dir   = /etc/etcd/ca/certs",
            "certificate     = /etc/etcd/ca/ca.crt",
            "serial          = /etc/etcd/ca/serial",
            "private_key     = /etc/etcd/ca/ca.key",
            "crl_number      = /etc/etcd/ca/crlnumber",
            "x509_extensions = etcd_v3_ca_client",
            "default_days    = 1825",
            "copy_extensions = copy",
            "basicConstraints       = critical,CA:TRUE,pathlen:0",
            "extendedKeyUsage       = clientAuth,serverAuth",
            "extendedKeyUsage       = serverAuth",
            "extendedKeyUsage       = clientAuth",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        for section in [
            "etcd_v3_ca_self",
            "etcd_v3_ca_peer",
            "etcd_v3_ca_server",
            "etcd_v3_ca_client",
        ] {
            assert_eq!(
                text.matches(&format!("[ {section} ]")).count(),
                1,
                "{section}"
            );
        }
    }

    #[test]
    fn openssl_reads_the_assembled_config() {
        // The real openssl: the fallback base and the fragment make a config it can sign
        // with (`openssl req` needs `[ req ]`, `openssl ca` the policy).
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("openssl.cnf");
        std::fs::write(
            &config,
            format!("{FALLBACK_BASE}{}", render_append(&layout())),
        )
        .unwrap();
        let out = std::process::Command::new("openssl")
            .args([
                "req", "-new", "-x509", "-batch", "-nodes", "-newkey", "rsa:2048",
            ])
            .arg("-config")
            .arg(&config)
            .args(["-extensions", SELF_SECTION, "-subj", "/CN=etcd-signer@1"])
            .arg("-keyout")
            .arg(dir.path().join("ca.key"))
            .arg("-out")
            .arg(dir.path().join("ca.crt"))
            .env("SAN", "etcd-signer")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_system_config_is_in_opensslsdir() {
        assert_eq!(
            system_config("OPENSSLDIR: \"/etc/pki/tls\"\n").as_deref(),
            Some("/etc/pki/tls/openssl.cnf")
        );
        assert_eq!(
            system_config("OPENSSLDIR: \"/usr/lib/ssl/\"").as_deref(),
            Some("/usr/lib/ssl/openssl.cnf")
        );
        assert_eq!(system_config("OPENSSLDIR: \"\""), None);
        assert_eq!(system_config("openssl: command not found"), None);
    }
}
