//! The migration runbook with every host reached over ssh (a real sshd on loopback):
//! commands, files, services and etcd (through ssh port forwards) all go through ssh.

use crate::support::command::{repo_root, Runbook};
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before};
use crate::support::sshd::Sshd;

#[test]
fn the_migration_runs_over_ssh() {
    let sshd = Sshd::start();
    let lab = TestLab::up(&["--tls", "--keys", "1500"]);
    let before = before(&lab);

    // The lab's inventory, with every host reached over ssh instead of locally.
    let local = std::fs::read_to_string(lab.inventory()).unwrap();
    let over_ssh: String = sshd
        .inventory_vars()
        .split(' ')
        .collect::<Vec<_>>()
        .join("\n");
    assert!(local.contains("ansible_connection=local"));
    let inventory = lab.dir.join("inventory-ssh.ini");
    std::fs::write(
        &inventory,
        local.replace("ansible_connection=local", &over_ssh),
    )
    .unwrap();

    let run = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-v", "-i"])
        .arg(&inventory)
        .current_dir(repo_root())
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("migration finished"), "{}", run.stdout);
    assert_migrated(&lab, &before);
    let log = sshd.log();
    assert!(
        log.matches("Accepted publickey").count() >= 4,
        "one session per host at least:\n{log}"
    );
}
