//! `ansible-inventory`, the oracle for inventories, as a test runs it on one inventory: the
//! binary in the virtualenv `.ci/install-deps` makes, with a throwaway Ansible home.

use super::command::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `ansible-inventory` of the virtualenv `.ci/fresh-machine-check --ansible` names (under
/// `CARGO_TARGET_DIR`, else `target/`).
pub fn ansible_inventory_binary() -> PathBuf {
    let output = Command::new("bash")
        .arg(repo_root().join(".ci/fresh-machine-check"))
        .arg("--ansible")
        .output()
        .expect("bash runs .ci/fresh-machine-check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let venv = stdout.split_whitespace().next().unwrap_or_default();
    let binary = Path::new(venv).join("bin/ansible-inventory");
    assert!(
        binary.is_file(),
        "no ansible-inventory at {} (.ci/fresh-machine-check --ansible said {stdout:?}): run \
         `bash .ci/install-deps` with the same CARGO_TARGET_DIR",
        binary.display()
    );
    binary
}

/// `ansible-inventory -i INVENTORY --list`, parsed; panics with Ansible's stderr if it
/// refuses the inventory.
pub fn ansible_inventory_list(inventory: &Path) -> serde_json::Value {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(home.path().join("tmp")).expect("temp dir for ansible");
    let output = Command::new(ansible_inventory_binary())
        .arg("-i")
        .arg(inventory)
        .arg("--list")
        // A source no plugin parses is an error, not an empty inventory with a warning.
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True")
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_LOCAL_TEMP", home.path().join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_CONFIG", home.path().join("no-ansible.cfg"))
        .current_dir(home.path())
        .output()
        .expect("ansible-inventory runs");
    assert!(
        output.status.success(),
        "ansible-inventory refuses {}:\n{}",
        inventory.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ansible-inventory --list prints JSON")
}
