//! The migration and its rollback with every host reached over ssh as a non-root user who may
//! not read the lab's keys, with `ansible_become=true`: every command and file operation goes
//! through sudo as root, and the cluster keeps its members' names and peer URLs.

use crate::support::command::{repo_root, run_script, Finished, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, assert_v2_as_seeded, before, migration};
use crate::support::sshd::Sshd;
use crate::support::user::{Sudo, TestUser};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `name peer-urls` of every member, as plain `etcdctl member list` prints them, sorted.
fn member_list(lab: &TestLab) -> Vec<String> {
    let listed = etcdctl(&lab.env(), 3, &["member", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let mut members: Vec<String> = listed
        .stdout
        .lines()
        .map(|line| {
            // ID, status, name, peer URLs, client URLs[, is learner]
            let fields: Vec<&str> = line.split(", ").collect();
            assert!(fields.len() >= 5, "{line}");
            format!("{} {}", fields[2], fields[3])
        })
        .collect();
    members.sort();
    members
}

/// The lab's inventory, written as `name`, with every host reached over `sshd` as `user` and
/// `extra` (such as `ansible_become=true`) as a variable of every host.
fn ssh_inventory(lab: &TestLab, name: &str, sshd: &Sshd, user: &TestUser, extra: &str) -> PathBuf {
    let local = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(local.contains("ansible_connection=local"));
    let group_vars = format!("{} {extra}", sshd.inventory_vars_as(&user.name))
        .trim()
        .replace(' ', "\n");
    let inventory = lab.dir.join(name);
    std::fs::write(
        &inventory,
        local.replace("ansible_connection=local", &group_vars),
    )
    .unwrap();
    inventory
}

/// Whether `user` can read `path` on its own (`runuser`, no sudo).
fn readable_by(user: &TestUser, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", &user.name, "--", "cat"])
        .arg(path)
        .output()
        .expect("runuser runs")
        .status
        .success()
}

fn show(finished: &Finished) -> String {
    format!("{}\n{}", finished.stdout, finished.stderr)
}

#[test]
fn the_migration_and_its_rollback_run_through_sudo_as_a_non_root_login() {
    let user = TestUser::create(Sudo::NoPassword, &[]);
    let sshd = Sshd::start_allowing(&[&user.name]);
    user.authorize_key(&sshd.public_key());
    let lab = TestLab::up(&["--tls", "--keys", "500"]);
    // The lab's own directories may be passed through by anyone, so what keeps the login
    // user out is the keys' own mode, as on a real host's /etc/etcd.
    let temp = lab.dir.parent().unwrap();
    std::fs::set_permissions(temp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let peer_key = lab.host_dir("etcd-1").join("etc/etcd/peer.key");
    let meta = std::fs::metadata(&peer_key).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    assert!(
        !readable_by(&user, &peer_key),
        "{} can read the key",
        user.name
    );

    // Over ssh without become, the login user is refused the key.
    let plain = ssh_inventory(&lab, "inventory-ssh.ini", &sshd, &user, "");
    let refused = run_script(
        &lab.dir,
        &plain,
        "read-key.rhai",
        &format!(
            "inventory.host(\"etcd-1\").read_blob(\"{}\");\n",
            peer_key.display()
        ),
    );
    assert_ne!(refused.code, 0, "{}", show(&refused));
    assert!(
        refused.stderr.contains("runbook::file::permission"),
        "{}",
        show(&refused)
    );

    let inventory = ssh_inventory(
        &lab,
        "inventory-become.ini",
        &sshd,
        &user,
        "ansible_become=true",
    );
    let before = before(&lab);
    let members_before = member_list(&lab);
    println!("member list before: {members_before:?}");

    let run = migration(&inventory).current_dir(repo_root()).run();
    assert_eq!(run.code, 0, "{}", show(&run));
    assert!(run.stdout.contains("migration finished"), "{}", show(&run));
    assert_migrated(&lab, &before);
    let members_migrated = member_list(&lab);
    println!("member list after the migration: {members_migrated:?}");

    let rollback = Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(&inventory)
        .current_dir(repo_root())
        .run();
    assert_eq!(rollback.code, 0, "{}", show(&rollback));
    assert!(
        rollback.stdout.contains("rollback finished"),
        "{}",
        show(&rollback)
    );
    assert_v2_as_seeded(&lab, &before);
    let members_after = member_list(&lab);
    println!("member list after the rollback: {members_after:?}");

    // Every session logged in as the test user; none as root.
    let log = sshd.log();
    let accepted = log.matches("Accepted publickey for ").count();
    let as_user = log
        .matches(&format!("Accepted publickey for {} ", user.name))
        .count();
    assert!(as_user >= 4, "one session per host at least:\n{log}");
    assert_eq!(accepted, as_user, "a session as another user:\n{log}");
    // What the run wrote on the hosts is root's, through sudo.
    let conf = lab.host_dir("etcd-1").join("etc/etcd/etcd.conf");
    assert_eq!(std::fs::metadata(&conf).unwrap().uid(), 0);

    assert_eq!(
        members_migrated, members_before,
        "the migration changed members"
    );
    assert_eq!(
        members_after, members_before,
        "the rollback changed members"
    );
}
