//! Reading what `openssl x509 -noout -text` prints about a certificate: its addresses
//! (subjectAltName), its purposes (extendedKeyUsage) and whether it is a CA. The text is
//! the same in OpenSSL 1.0.2 (RHEL 7) and 3.x, so no newer option (`-ext`) is needed.

use std::net::IpAddr;

/// One subjectAltName entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
    /// Anything else (`email:`, `URI:`, an address openssl printed as it could not parse).
    Other(String),
}

impl San {
    /// Whether this entry names `address`: the same IP (however it is written), or the same
    /// DNS name (in any case) when `address` is a name.
    pub fn covers(&self, address: &str) -> bool {
        let address = address.trim_start_matches('[').trim_end_matches(']');
        match (self, address.parse::<IpAddr>()) {
            (San::Ip(ip), Ok(wanted)) => *ip == wanted,
            (San::Dns(name), Err(_)) => name.eq_ignore_ascii_case(address),
            _ => false,
        }
    }
}

impl std::fmt::Display for San {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
            San::Other(text) => f.write_str(text),
        }
    }
}

/// An extendedKeyUsage purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    ServerAuth,
    ClientAuth,
    Other(String),
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Usage::ServerAuth => f.write_str("serverAuth"),
            Usage::ClientAuth => f.write_str("clientAuth"),
            Usage::Other(text) => f.write_str(text),
        }
    }
}

/// What the text says about the certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct X509Text {
    pub sans: Vec<San>,
    pub usages: Vec<Usage>,
    /// basicConstraints `CA:TRUE`.
    pub is_ca: bool,
}

/// Reads the extensions runbook checks from `openssl x509 -noout -text` output.
pub fn parse(text: &str) -> X509Text {
    let mut parsed = X509Text::default();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    // An extension's name line, then its value on the next line.
    let value_of = |name: &str| -> Option<&str> {
        let at = lines.iter().position(|l| l.starts_with(name))?;
        lines.get(at + 1).copied()
    };
    if let Some(value) = value_of("X509v3 Subject Alternative Name:") {
        parsed.sans = value.split(", ").map(san).collect();
    }
    if let Some(value) = value_of("X509v3 Extended Key Usage:") {
        parsed.usages = value
            .split(", ")
            .map(|usage| match usage.trim() {
                "TLS Web Server Authentication" => Usage::ServerAuth,
                "TLS Web Client Authentication" => Usage::ClientAuth,
                other => Usage::Other(other.to_string()),
            })
            .collect();
    }
    if let Some(value) = value_of("X509v3 Basic Constraints:") {
        parsed.is_ca = value.split(',').any(|part| part.trim() == "CA:TRUE");
    }
    parsed
}

fn san(entry: &str) -> San {
    let entry = entry.trim();
    if let Some(name) = entry.strip_prefix("DNS:") {
        return San::Dns(name.to_string());
    }
    if let Some(address) = entry.strip_prefix("IP Address:") {
        if let Ok(ip) = address.parse() {
            return San::Ip(ip);
        }
    }
    San::Other(entry.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl x509 -noout -text` of a peer certificate issued by openshift-ansible's CA
    /// config (OpenSSL 3.0), the key and signature cut short.
    const PEER: &str = "Certificate:
    Data:
        Version: 3 (0x2)
        Serial Number: 2 (0x2)
        Signature Algorithm: sha256WithRSAEncryption
        Issuer: CN = etcd-signer@1700000000
        Validity
            Not Before: Dec  2 06:11:58 2026 GMT
            Not After : Dec  1 06:11:58 2031 GMT
        Subject: CN = etcd-1.example.com
        Subject Public Key Info:
            Public Key Algorithm: rsaEncryption
                Public-Key: (2048 bit)
                Exponent: 65537 (0x10001)
        X509v3 extensions:
            X509v3 Authority Key Identifier: 
                keyid:0B:3A:57:CD:CA:AC:BE:11:B6:73:5B:13:6B:14:5E:C8:FD:63:6B:96
                DirName:/CN=etcd-signer@1700000000
                serial:3B:7C:B8:5C:EA:39:82:7E:8F:2E:6B:9B:F6:EA:BA:74:69:F8:6F:43
            X509v3 Basic Constraints: critical
                CA:FALSE
            X509v3 Extended Key Usage: 
                TLS Web Client Authentication, TLS Web Server Authentication
            X509v3 Key Usage: 
                Digital Signature, Key Encipherment
            X509v3 Subject Key Identifier: 
                53:5A:E5:8C:C8:49:49:A2:C6:49:4D:1E:C9:D7:92:5A:80:EE:B2:0E
            X509v3 Subject Alternative Name: 
                IP Address:10.0.0.5, DNS:etcd-1.example.com, IP Address:0:0:0:0:0:0:0:1
    Signature Algorithm: sha256WithRSAEncryption
";

    /// The CA's own text as OpenSSL 1.0.2 prints it (no spaces around `=` in names).
    const CA_102: &str = "        Issuer: CN=etcd-signer@1500000000
        X509v3 extensions:
            X509v3 Authority Key Identifier: 
                keyid:AA:BB
            X509v3 Basic Constraints: critical
                CA:TRUE, pathlen:0
            X509v3 Key Usage: critical
                Digital Signature, Key Encipherment, Certificate Sign
";

    #[test]
    fn reads_addresses_purposes_and_the_ca_flag() {
        let peer = parse(PEER);
        assert_eq!(
            peer.sans,
            [
                San::Ip("10.0.0.5".parse().unwrap()),
                San::Dns("etcd-1.example.com".into()),
                San::Ip("::1".parse().unwrap()),
            ]
        );
        assert_eq!(peer.usages, [Usage::ClientAuth, Usage::ServerAuth]);
        assert!(!peer.is_ca);

        let ca = parse(CA_102);
        assert!(ca.is_ca);
        assert!(ca.sans.is_empty() && ca.usages.is_empty());
    }

    #[test]
    fn an_address_is_covered_by_the_same_ip_or_name() {
        let sans = parse(PEER).sans;
        let covered = |address: &str| sans.iter().any(|s| s.covers(address));
        assert!(covered("10.0.0.5"));
        assert!(covered("::1"));
        assert!(covered("[0::1]"));
        assert!(covered("ETCD-1.example.com"));
        assert!(!covered("10.0.0.6"));
        // An IP written as a name is not a DNS entry's match, nor the other way round.
        assert!(!San::Dns("10.0.0.5".into()).covers("10.0.0.5"));
        assert!(!covered("etcd-2.example.com"));
    }

    #[test]
    fn unknown_entries_are_kept_as_printed() {
        let text = "X509v3 Subject Alternative Name: \n    email:a@b, URI:spiffe://x, IP Address:<invalid>\nX509v3 Extended Key Usage: \n    Code Signing\n";
        let parsed = parse(text);
        assert_eq!(
            parsed.sans,
            [
                San::Other("email:a@b".into()),
                San::Other("URI:spiffe://x".into()),
                San::Other("IP Address:<invalid>".into()),
            ]
        );
        assert_eq!(parsed.usages, [Usage::Other("Code Signing".into())]);
    }
}
