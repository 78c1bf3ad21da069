//! Whether a certificate and its key on a host can stay: openssl there reads the pair
//! (present, a certificate, not expired, signed by the CA, the key its own) and prints the
//! certificate's text; [`judge`] decides from that what the pair is for.

use super::error::CertError;
use super::shell::{need_openssl, run_unchecked};
use super::x509_text::{self, Usage, X509Text};
use crate::inventory::Host;
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// What openssl on the host said about a certificate and its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    pub cert_exists: bool,
    pub key_exists: bool,
    /// openssl reads the certificate.
    pub parses: bool,
    pub unexpired: bool,
    /// notAfter as openssl prints it.
    pub not_after: String,
    /// `openssl verify -CAfile` against the CA: `None` when no CA was given, else `Ok` or
    /// what verify said.
    pub verified: Option<Result<(), String>>,
    /// openssl reads the key (an unencrypted private key).
    pub key_readable: bool,
    /// The key's public half is the certificate's.
    pub key_matches: bool,
    pub text: X509Text,
}

/// What a certificate must be good for.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// Purposes it must list (extendedKeyUsage).
    pub usages: &'a [Usage],
    /// An address (IP or name) its subjectAltName must name.
    pub address: Option<&'a str>,
}

/// Whether a pair can stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Neither file exists.
    Missing,
    Valid,
    /// Why not, for the operator (`... is signed by another CA`).
    Invalid(String),
}

/// `sh` that reports on `cert` and `key`, the CA certificate (if any) on stdin: `name: value`
/// lines, then `text:` and the certificate's text. Exits 2 on a file it may not read.
pub fn script(cert: &str, key: &str) -> String {
    format!(
        r#"c={cert}; k={key}
ca=$(mktemp) || exit 1
trap 'rm -f -- "$ca"' EXIT
cat > "$ca"
if [ -e "$c" ]; then echo "cert: yes"; else echo "cert: no"; fi
if [ -e "$k" ]; then echo "key: yes"; else echo "key: no"; fi
[ -e "$c" ] || exit 0
{need}
for f in "$c" "$k"; do
  if [ -e "$f" ] && [ ! -r "$f" ]; then echo "cannot read $f: Permission denied" >&2; exit 2; fi
done
openssl x509 -noout -in "$c" </dev/null >/dev/null 2>&1 || {{ echo "parses: no"; exit 0; }}
echo "parses: yes"
if openssl x509 -noout -checkend 0 -in "$c" </dev/null >/dev/null 2>&1; then echo "unexpired: yes"; else echo "unexpired: no"; fi
echo "not_after: $(openssl x509 -noout -enddate -in "$c" </dev/null 2>/dev/null | sed 's/^notAfter=//')"
if [ -s "$ca" ]; then
  if v=$(openssl verify -CAfile "$ca" "$c" </dev/null 2>&1); then echo "verified: yes"
  else echo "verified: no: $(printf '%s' "$v" | grep -v '^ *$' | tr '\n' ' ')"; fi
fi
if [ -e "$k" ]; then
  cp=$(openssl x509 -noout -pubkey -in "$c" </dev/null 2>/dev/null)
  if kp=$(openssl pkey -pubout -in "$k" -passin pass: </dev/null 2>/dev/null) && [ -n "$kp" ]; then
    echo "key_readable: yes"
    if [ "$cp" = "$kp" ]; then echo "key_matches: yes"; else echo "key_matches: no"; fi
  else echo "key_readable: no"; fi
fi
echo "text:"
openssl x509 -noout -text -in "$c" </dev/null 2>/dev/null
"#,
        cert = shell_quote(cert),
        key = shell_quote(key),
        need = need_openssl(),
    )
}

/// Reads what [`script`] printed.
pub fn parse(stdout: &str) -> Inspection {
    let mut inspection = Inspection::default();
    let (head, text) = match stdout.split_once("\ntext:\n") {
        Some((head, text)) => (head, text),
        None => (stdout, ""),
    };
    for line in head.lines() {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        let yes = value == "yes";
        match name {
            "cert" => inspection.cert_exists = yes,
            "key" => inspection.key_exists = yes,
            "parses" => inspection.parses = yes,
            "unexpired" => inspection.unexpired = yes,
            "not_after" => inspection.not_after = value.trim().to_string(),
            "verified" => {
                inspection.verified = Some(if yes {
                    Ok(())
                } else {
                    Err(value
                        .strip_prefix("no")
                        .unwrap_or(value)
                        .trim_start_matches(':')
                        .trim()
                        .to_string())
                })
            }
            "key_readable" => inspection.key_readable = yes,
            "key_matches" => inspection.key_matches = yes,
            _ => {}
        }
    }
    inspection.text = x509_text::parse(text);
    inspection
}

/// What openssl on `host` says about `cert` and `key`, verified against `ca_pem` if given.
pub async fn inspect(
    host: &Host,
    transport: &Transport,
    cert: &str,
    key: &str,
    ca_pem: Option<&[u8]>,
    cancel: &CancellationToken,
) -> Result<Inspection, CertError> {
    let stdin = ca_pem.map(<[u8]>::to_vec).unwrap_or_default();
    let output = run_unchecked(host, transport, &script(cert, key), Some(stdin), cancel).await?;
    if !output.success() {
        return Err(CertError::Inspect {
            host: host.name.clone(),
            stderr: super::shell::tail(&output),
        });
    }
    Ok(parse(&output.stdout_text()))
}

/// Whether the pair `cert`/`key` that `inspection` describes is valid for `wanted`.
pub fn judge(inspection: &Inspection, cert: &str, key: &str, wanted: Wanted<'_>) -> Verdict {
    let i = inspection;
    if !i.cert_exists && !i.key_exists {
        return Verdict::Missing;
    }
    let invalid = |why: String| Verdict::Invalid(why);
    if !i.cert_exists {
        return invalid(format!("{cert} is missing (its key {key} is there)"));
    }
    if !i.key_exists {
        return invalid(format!("its key {key} is missing"));
    }
    if !i.parses {
        return invalid(format!("{cert} is not a certificate openssl can read"));
    }
    if !i.unexpired {
        return invalid(format!("{cert} expired on {}", i.not_after));
    }
    if let Some(Err(why)) = &i.verified {
        return invalid(format!("{cert} is not signed by the CA ({why})"));
    }
    for usage in wanted.usages {
        if !i.text.usages.contains(usage) {
            return invalid(format!("{cert} is not issued for {usage}"));
        }
    }
    if let Some(address) = wanted.address {
        if !i.text.sans.iter().any(|s| s.covers(address)) {
            let named: Vec<String> = i.text.sans.iter().map(|s| s.to_string()).collect();
            return invalid(format!(
                "{cert} is not issued for {address} (its names: {})",
                if named.is_empty() {
                    "none".to_string()
                } else {
                    named.join(", ")
                }
            ));
        }
    }
    if !i.key_readable {
        return invalid(format!(
            "{key} is not a private key openssl can read without a passphrase"
        ));
    }
    if !i.key_matches {
        return invalid(format!("{key} is not the key of {cert}"));
    }
    Verdict::Valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::etcd::certs::x509_text::San;

    const VALID: &str = "cert: yes\nkey: yes\nparses: yes\nunexpired: yes\nnot_after: Dec  1 06:11:58 2031 GMT\nverified: yes\nkey_readable: yes\nkey_matches: yes\ntext:\nCertificate:\n            X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n            X509v3 Subject Alternative Name: \n                IP Address:127.0.0.1, DNS:etcd-1\n";

    const SERVER: Wanted<'static> = Wanted {
        usages: &[Usage::ServerAuth],
        address: Some("127.0.0.1"),
    };

    #[test]
    fn reads_the_report() {
        let i = parse(VALID);
        assert!(i.cert_exists && i.key_exists && i.parses && i.unexpired);
        assert_eq!(i.not_after, "Dec  1 06:11:58 2031 GMT");
        assert_eq!(i.verified, Some(Ok(())));
        assert!(i.key_readable && i.key_matches);
        assert_eq!(i.text.usages, [Usage::ServerAuth]);
        assert_eq!(i.text.sans[1], San::Dns("etcd-1".into()));
        let failed = parse("cert: yes\nkey: no\nparses: yes\nverified: no: CN = x error 20 at 0 depth lookup: unable to get local issuer certificate error /etc/etcd/server.crt: verification failed \n");
        assert!(!failed.key_exists);
        assert_eq!(
            failed.verified,
            Some(Err("CN = x error 20 at 0 depth lookup: unable to get local issuer certificate error /etc/etcd/server.crt: verification failed".into()))
        );
        assert_eq!(parse("cert: no\nkey: no\n"), Inspection::default());
    }

    #[test]
    fn a_pair_stays_only_when_everything_holds() {
        let (c, k) = ("/etc/etcd/server.crt", "/etc/etcd/server.key");
        let judged = |text: &str, wanted| judge(&parse(text), c, k, wanted);
        assert_eq!(judged(VALID, SERVER), Verdict::Valid);
        assert_eq!(judged("cert: no\nkey: no\n", SERVER), Verdict::Missing);
        let why = |text: &str, wanted| match judged(text, wanted) {
            Verdict::Invalid(why) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            why("cert: yes\nkey: no\n", SERVER),
            "its key /etc/etcd/server.key is missing"
        );
        assert_eq!(
            why("cert: no\nkey: yes\n", SERVER),
            "/etc/etcd/server.crt is missing (its key /etc/etcd/server.key is there)"
        );
        assert!(
            why(&VALID.replace("unexpired: yes", "unexpired: no"), SERVER)
                .contains("expired on Dec  1 06:11:58 2031 GMT")
        );
        assert!(why(
            &VALID.replace(
                "verified: yes",
                "verified: no: unable to get local issuer certificate"
            ),
            SERVER
        )
        .contains("not signed by the CA (unable to get local issuer certificate)"));
        assert!(why(
            &VALID.replace("key_matches: yes", "key_matches: no"),
            SERVER
        )
        .contains("is not the key of"));
        assert!(why(
            &VALID.replace("key_readable: yes\nkey_matches: yes", "key_readable: no"),
            SERVER
        )
        .contains("without a passphrase"));
        let peer = Wanted {
            usages: &[Usage::ServerAuth, Usage::ClientAuth],
            address: Some("127.0.0.1"),
        };
        assert_eq!(
            why(VALID, peer),
            "/etc/etcd/server.crt is not issued for clientAuth"
        );
        let elsewhere = Wanted {
            usages: &[Usage::ServerAuth],
            address: Some("10.0.0.5"),
        };
        assert_eq!(
            why(VALID, elsewhere),
            "/etc/etcd/server.crt is not issued for 10.0.0.5 (its names: IP:127.0.0.1, DNS:etcd-1)"
        );
    }

    #[test]
    fn openssl_reports_on_a_real_pair() {
        // The script itself, run by sh with the real openssl, on a pair made here.
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.crt"), dir.path().join("c.key"));
        let made = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-batch", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=etcd-1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:etcd-1",
            ])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let run = |stdin: &[u8]| {
            use std::io::Write;
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(script(cert.to_str().unwrap(), key.to_str().unwrap()))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            parse(&String::from_utf8_lossy(&out.stdout))
        };
        let own_ca = std::fs::read(&cert).unwrap();
        let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
        assert_eq!(judge(&run(&own_ca), c, k, SERVER), Verdict::Valid);
        let unverified = run(b"");
        assert_eq!(unverified.verified, None);
        std::fs::write(&key, b"not a key").unwrap();
        assert!(
            matches!(judge(&run(&own_ca), c, k, SERVER), Verdict::Invalid(why) if why.contains("not a private key"))
        );
    }
}
