//! What a lab of embedded etcd can be: one master on loopback whose service runs the one
//! etcd member. Options that would need more are refused before anything is made.

use super::error::LabError;
use super::LabOptions;

/// What `--layout embedded` supports, for every refusal's help line.
const SUPPORTED: &str = "a lab of embedded etcd is one master (`master-1`) on loopback whose \
     atomic-openshift-master service runs the one etcd member: `runbook lab up --dir DIR \
     --layout embedded [--tls] [--keys N] [--expiring N]`";

fn refuse(flag: &str, reason: &str) -> LabError {
    LabError::EmbeddedOption {
        flag: flag.to_string(),
        reason: reason.to_string(),
        supported: SUPPORTED.to_string(),
    }
}

/// Refuses the options of a loopback lab that an embedded etcd cannot have.
pub fn check(options: &LabOptions) -> Result<(), LabError> {
    if !options.etcd_layout.is_embedded() {
        return Ok(());
    }
    if options.members != 1 {
        return Err(refuse(
            &format!("--members {}", options.members),
            "an embedded etcd is a single member inside the single master",
        ));
    }
    if options.master_writes {
        return Err(refuse(
            "--master-writes",
            "the master service runs the embedded etcd, not the writing API stand-in",
        ));
    }
    Ok(())
}

/// Refuses a lab of separate hosts (`--hosts netns`, with or without a management network)
/// for an embedded etcd.
pub fn check_separate_hosts(options: &LabOptions, management: bool) -> Result<(), LabError> {
    if !options.etcd_layout.is_embedded() {
        return Ok(());
    }
    let flag = if management {
        "--hosts netns --management-network"
    } else {
        "--hosts netns"
    };
    Err(refuse(
        flag,
        "the lab of separate hosts installs etcd on etcd hosts of its own",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::EtcdLayout;

    fn options(members: usize, master_writes: bool) -> LabOptions {
        LabOptions {
            dir: "lab".into(),
            members,
            tls: true,
            keys: 10,
            expiring: 0,
            etcd_layout: EtcdLayout::Embedded,
            master_writes,
        }
    }

    #[test]
    fn refuses_what_one_master_cannot_be_and_names_the_flag() {
        assert!(check(&options(1, false)).is_ok());
        let error = check(&options(3, false)).unwrap_err().to_string();
        assert!(error.contains("--members 3"), "{error}");
        let error = check(&options(1, true)).unwrap_err().to_string();
        assert!(error.contains("--master-writes"), "{error}");
        let error = check_separate_hosts(&options(1, false), true)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--management-network"), "{error}");
        let external = LabOptions {
            etcd_layout: EtcdLayout::Rpm,
            ..options(3, true)
        };
        assert!(check(&external).is_ok());
        assert!(check_separate_hosts(&external, true).is_ok());
    }
}
