//! The etcd CA on the first etcd host, as openshift-ansible's `deploy_ca.yml` makes it:
//! `ca.crt` and `ca.key` (RSA 4096, CN `etcd-signer@<epoch>`, five years), `openssl.cnf`
//! assembled from `fragments/`, the `index.txt` and `serial` of `openssl ca`, and the
//! `certs/` and `crl/` directories. A sound CA is kept (only missing files of its layout
//! are added); a broken one is refused, never replaced.

use super::check::{self, Inspection};
use super::error::CertError;
use super::layout::CaLayout;
use super::openssl_conf::{
    render_append, system_config, DEFAULT_DAYS, FALLBACK_BASE, SELF_SECTION,
};
use super::shell::{self, need_openssl};
use crate::inventory::Host;
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// What happened to the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaAction {
    Created,
    Kept,
}

/// The CA, ready to sign with.
#[derive(Debug, Clone)]
pub struct Ca {
    pub action: CaAction,
    /// `ca.crt` as it is on the host.
    pub cert_pem: Vec<u8>,
}

/// Keeps the CA in `layout` if it is sound, creates it if there is none; refuses a broken
/// one before anything is written.
pub async fn ensure(
    host: &Host,
    transport: &Transport,
    layout: &CaLayout,
    cancel: &CancellationToken,
) -> Result<Ca, CertError> {
    let found =
        check::inspect(host, transport, &layout.cert(), &layout.key(), None, cancel).await?;
    let exists = soundness(&host.name, layout, &found)?;
    prepare(host, transport, layout, cancel).await?;
    let action = if exists {
        CaAction::Kept
    } else {
        create(
            host,
            transport,
            layout,
            chrono::Utc::now().timestamp(),
            cancel,
        )
        .await?;
        let made =
            check::inspect(host, transport, &layout.cert(), &layout.key(), None, cancel).await?;
        soundness(&host.name, layout, &made)?;
        CaAction::Created
    };
    let cert_pem = transport.read_file(&layout.cert(), cancel).await?;
    Ok(Ca { action, cert_pem })
}

/// `Ok(true)` for a sound CA, `Ok(false)` for none (neither `ca.crt` nor `ca.key`), and the
/// refusal naming the file for anything else.
pub fn soundness(host: &str, layout: &CaLayout, i: &Inspection) -> Result<bool, CertError> {
    let (cert, key) = (layout.cert(), layout.key());
    let broken = |path: &str, problem: String| {
        Err(CertError::BrokenCa {
            host: host.to_string(),
            ca_dir: layout.dir.clone(),
            path: path.to_string(),
            problem,
        })
    };
    match (i.cert_exists, i.key_exists) {
        (false, false) => return Ok(false),
        (false, true) => return broken(&cert, format!("is missing, but its key {key} is there")),
        (true, false) => {
            return broken(&key, format!("is missing: {cert} has no key to sign with"))
        }
        (true, true) => {}
    }
    if !i.parses {
        return broken(&cert, "is not a certificate openssl can read".into());
    }
    if !i.text.is_ca {
        return broken(
            &cert,
            "is not a CA certificate (no basicConstraints CA:TRUE)".into(),
        );
    }
    if !i.unexpired {
        return broken(&cert, format!("expired on {}", i.not_after));
    }
    if !i.key_readable {
        return broken(
            &key,
            "is not a private key openssl can read without a passphrase".into(),
        );
    }
    if !i.key_matches {
        return broken(&key, format!("is not the key of {cert}"));
    }
    Ok(true)
}

/// `sh` that adds what is missing of the CA's layout and leaves every existing file as it
/// is: the directories (0700), `fragments/openssl.cnf` (a copy of `system`, the host's own,
/// or [`FALLBACK_BASE`]), `fragments/openssl_append.cnf`, `openssl.cnf` (the two
/// fragments, in openshift-ansible's `assemble` order), `index.txt` (empty) and `serial`
/// (`01`).
pub fn prepare_script(layout: &CaLayout, system: Option<&str>) -> String {
    let fragments = layout.fragments();
    format!(
        r#"set -e
d={dir}; f={fragments}
[ -d "$d" ] || mkdir -p -m 0700 -- "$d"
for s in {certs} {crl} "$f"; do [ -d "$s" ] || mkdir -m 0700 -- "$s"; done
if [ ! -e "$f/openssl.cnf" ]; then
  if [ -n {system} ] && [ -r {system} ]; then cp -- {system} "$f/openssl.cnf"; else printf '%s' {fallback} > "$f/openssl.cnf"; fi
fi
[ -e "$f/openssl_append.cnf" ] || printf '%s' {append} > "$f/openssl_append.cnf"
[ -e {config} ] || cat -- "$f/openssl.cnf" "$f/openssl_append.cnf" > {config}
[ -e {database} ] || : > {database}
[ -e {serial} ] || printf '01' > {serial}
"#,
        dir = shell_quote(layout.dir.trim_end_matches('/')),
        fragments = shell_quote(&fragments),
        certs = shell_quote(&layout.new_certs_dir()),
        crl = shell_quote(&layout.crl_dir()),
        system = shell_quote(system.unwrap_or("")),
        fallback = shell_quote(FALLBACK_BASE),
        append = shell_quote(&render_append(layout)),
        config = shell_quote(&layout.config()),
        database = shell_quote(&layout.database()),
        serial = shell_quote(&layout.serial()),
    )
}

async fn prepare(
    host: &Host,
    transport: &Transport,
    layout: &CaLayout,
    cancel: &CancellationToken,
) -> Result<(), CertError> {
    let config = layout.config();
    let version = shell::run(
        host,
        transport,
        &format!("{}\nopenssl version -d", need_openssl()),
        None,
        "find the host's own openssl.cnf",
        &config,
        cancel,
    )
    .await?;
    let system = system_config(&version.stdout_text());
    shell::run(
        host,
        transport,
        &prepare_script(layout, system.as_deref()),
        None,
        &format!("lay out the CA in {}", layout.dir),
        &config,
        cancel,
    )
    .await?;
    Ok(())
}

/// `sh` that creates `ca.crt` and `ca.key`: made in a temporary directory inside the CA's,
/// moved in place only when openssl is done, and never over an existing one.
pub fn create_script(layout: &CaLayout, epoch: i64) -> String {
    format!(
        r#"set -e
umask 077
{need}
d={dir}
t=$(mktemp -d -- "$d/.runbook-ca-XXXXXXXX")
trap 'rm -rf -- "$t"' EXIT
cd -- "$d"
SAN=etcd-signer openssl req -config {config} -newkey rsa:4096 -keyout "$t/ca.key" -new -out "$t/ca.crt" -x509 -extensions {section} -batch -nodes -days {days} -subj /CN=etcd-signer@{epoch} </dev/null
chmod 0600 -- "$t/ca.key"
chmod 0644 -- "$t/ca.crt"
if [ -e {key} ] || [ -e {cert} ]; then echo "a CA appeared in $d meanwhile" >&2; exit 3; fi
mv -- "$t/ca.key" {key}
mv -- "$t/ca.crt" {cert}
"#,
        need = need_openssl(),
        dir = shell_quote(layout.dir.trim_end_matches('/')),
        config = shell_quote(&layout.config()),
        section = SELF_SECTION,
        days = DEFAULT_DAYS,
        key = shell_quote(&layout.key()),
        cert = shell_quote(&layout.cert()),
    )
}

async fn create(
    host: &Host,
    transport: &Transport,
    layout: &CaLayout,
    epoch: i64,
    cancel: &CancellationToken,
) -> Result<(), CertError> {
    shell::run(
        host,
        transport,
        &create_script(layout, epoch),
        None,
        &format!("create the etcd CA in {}", layout.dir),
        &layout.config(),
        cancel,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::etcd::certs::check::parse;

    fn layout(dir: &std::path::Path) -> CaLayout {
        CaLayout {
            dir: dir.join("ca").to_string_lossy().into_owned(),
            generated_dir: dir.join("generated_certs").to_string_lossy().into_owned(),
        }
    }

    fn sh(script: &str) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    #[test]
    fn a_broken_ca_is_refused_naming_the_file() {
        let ca = layout(std::path::Path::new("/etc/etcd"));
        let refused = |report: &str| match soundness("etcd-1", &ca, &parse(report)) {
            Err(CertError::BrokenCa { path, problem, .. }) => format!("{path} {problem}"),
            other => panic!("{other:?}"),
        };
        assert!(!soundness("etcd-1", &ca, &parse("cert: no\nkey: no\n")).unwrap());
        assert_eq!(
            refused("cert: yes\nkey: no\n"),
            "/etc/etcd/ca/ca.key is missing: /etc/etcd/ca/ca.crt has no key to sign with"
        );
        assert_eq!(
            refused("cert: no\nkey: yes\n"),
            "/etc/etcd/ca/ca.crt is missing, but its key /etc/etcd/ca/ca.key is there"
        );
        let sound = "cert: yes\nkey: yes\nparses: yes\nunexpired: yes\nkey_readable: yes\nkey_matches: yes\ntext:\n  X509v3 Basic Constraints: critical\n    CA:TRUE, pathlen:0\n";
        assert!(soundness("etcd-1", &ca, &parse(sound)).unwrap());
        assert!(refused(&sound.replace("CA:TRUE", "CA:FALSE")).contains("is not a CA certificate"));
        assert!(
            refused(&sound.replace("key_matches: yes", "key_matches: no"))
                .starts_with("/etc/etcd/ca/ca.key is not the key of")
        );
        assert!(refused(&sound.replace("unexpired: yes", "unexpired: no")).contains("expired"));
    }

    #[test]
    fn the_layout_and_the_ca_come_out_as_openshift_ansibles() {
        let dir = tempfile::tempdir().unwrap();
        let ca = layout(dir.path());
        let version = sh("openssl version -d");
        let system = system_config(&String::from_utf8_lossy(&version.stdout)).unwrap();
        let system = system.as_str();
        let out = sh(&prepare_script(&ca, Some(system)));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let root = dir.path().join("ca");
        assert_eq!(
            std::fs::read(root.join("fragments/openssl.cnf")).unwrap(),
            std::fs::read(system).unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(root.join("fragments/openssl_append.cnf")).unwrap(),
            render_append(&ca)
        );
        assert_eq!(
            std::fs::read_to_string(root.join("openssl.cnf")).unwrap(),
            format!(
                "{}{}",
                std::fs::read_to_string(system).unwrap(),
                render_append(&ca)
            )
        );
        assert_eq!(std::fs::read(root.join("index.txt")).unwrap(), b"");
        assert_eq!(std::fs::read(root.join("serial")).unwrap(), b"01");
        use std::os::unix::fs::PermissionsExt;
        for sub in ["", "certs", "crl", "fragments"] {
            let mode = std::fs::metadata(root.join(sub))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{sub}");
        }
        // Again: nothing that exists is written.
        std::fs::write(root.join("serial"), "0A\n").unwrap();
        assert!(sh(&prepare_script(&ca, None)).status.success());
        assert_eq!(std::fs::read(root.join("serial")).unwrap(), b"0A\n");

        let out = sh(&create_script(&ca, 1_700_000_000));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::process::Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-enddate",
                "-startdate",
                "-in",
            ])
            .arg(root.join("ca.crt"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("CN = etcd-signer@1700000000"), "{text}");
        let mode = std::fs::metadata(root.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Never over an existing CA.
        let again = sh(&create_script(&ca, 1_700_000_001));
        assert_eq!(again.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&again.stderr).contains("a CA appeared"));
        let leftovers: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".runbook-ca-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
