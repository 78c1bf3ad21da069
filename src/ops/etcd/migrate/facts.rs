//! What a run has established about the cluster, which later guards rely on
//! (for example: the v3 key count last seen, the verified backups).
//!
//! Facts live as long as one `runbook run` and the runs that `--resume` it (they
//! are journaled with each finished step): a fresh run starts knowing nothing, so
//! guards that need a fact ask the operator to establish it again.
//! What must survive the control machine (an earlier migration) is recorded on
//! the members' hosts instead (see `migration_record`).

use crate::ops::etcd::backup::manifest::BackupMethod;
use crate::ops::etcd::host::member_host::stamp;
use crate::ops::etcd::membership::identity::Identities;
use crate::ops::master::outage::ApiOutage;
use chrono::{DateTime, Utc};

/// The v3 key count as last seen in this run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyCount {
    /// Number of keys in the whole v3 keyspace.
    pub count: u64,
    /// When it was counted.
    pub at: DateTime<Utc>,
    /// The client URLs that were asked.
    pub endpoints: Vec<String>,
}

/// A backup whose files were hashed against its manifest in this run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifiedBackup {
    /// Inventory name of the member's host.
    pub host: String,
    /// The backup directory on that host.
    pub dir: String,
    /// Number of files the manifest lists.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// When the files were last found to match the manifest.
    pub verified_at: DateTime<Utc>,
    /// How it was taken.
    #[serde(default)]
    pub method: BackupMethod,
}

/// A migration `etcd.migrate` ran to success in this run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MigrationFact {
    pub host: String,
    /// `migrated` or `no_v2_keys`.
    pub result: String,
    pub at: DateTime<Utc>,
}

/// Facts gathered during one run. They are journaled after every step, so a
/// run resumed with `--resume` starts with what the interrupted run knew.
///
/// Only what a run established is written: a runbook that never counts keys, backs up or
/// migrates journals no such fields (and one that touches no etcd member, no facts at all).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RunFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    v3_keys: Option<KeyCount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    backups: Vec<VerifiedBackup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    migrations: Vec<MigrationFact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_stamp: Option<String>,
    /// Who each inventory host is in the cluster, as first seen in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    identities: Option<Identities>,
    /// The last API outage of this run: the masters stopped, and restarted if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    api_outage: Option<ApiOutage>,
    /// Members whose migrated v3 data `etcd.verify` found equal to their v2 store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    verified_migrations: Vec<String>,
    /// Hosts whose member this run removed (`etcd.member_remove`) and has not added back:
    /// the cluster's reports leave them out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    removed: Vec<String>,
}

impl RunFacts {
    /// Records a v3 key count, replacing the previous one.
    pub fn record_key_count(&mut self, count: KeyCount) {
        self.v3_keys = Some(count);
    }

    /// The v3 key count last seen, if any was taken in this run.
    pub fn last_key_count(&self) -> Option<&KeyCount> {
        self.v3_keys.as_ref()
    }

    /// Records a verified backup; a later verification of the same directory replaces it.
    pub fn record_backup(&mut self, backup: VerifiedBackup) {
        self.backups
            .retain(|b| !(b.host == backup.host && b.dir == backup.dir));
        self.backups.push(backup);
    }

    /// Forgets a backup that failed a later verification.
    pub fn forget_backup(&mut self, host: &str, dir: &str) {
        self.backups.retain(|b| !(b.host == host && b.dir == dir));
    }

    /// The most recently verified backup of a host.
    pub fn backup_of(&self, host: &str) -> Option<&VerifiedBackup> {
        self.backups.iter().rev().find(|b| b.host == host)
    }

    /// Every verified backup, oldest first.
    pub fn backups(&self) -> &[VerifiedBackup] {
        &self.backups
    }

    /// Records a successful migration.
    pub fn record_migration(&mut self, migration: MigrationFact) {
        self.migrations.push(migration);
    }

    /// `etcd.verify` found every v2 key of `host`'s migration in v3.
    pub fn record_verified_migration(&mut self, host: &str) {
        if !self.verified_migrations.iter().any(|h| h == host) {
            self.verified_migrations.push(host.to_string());
        }
    }

    /// Whether `host` was migrated and verified in this run (or the runs it resumed).
    pub fn migration_verified(&self, host: &str) -> bool {
        self.migrations.iter().any(|m| m.host == host)
            && self.verified_migrations.iter().any(|h| h == host)
    }

    /// The migrations of this run.
    pub fn migrations(&self) -> &[MigrationFact] {
        &self.migrations
    }

    /// `YYYYmmddHHMMSS` (local time) of the first backup of this run: every
    /// default backup directory of one run carries the same stamp.
    pub fn backup_stamp(&mut self) -> String {
        self.backup_stamp.get_or_insert_with(stamp).clone()
    }

    /// The run's stamp if it has one, else the clock's, without fixing it.
    pub fn current_backup_stamp(&self) -> String {
        self.backup_stamp.clone().unwrap_or_else(stamp)
    }

    /// Whether this run (or the run it resumes) has a backup stamp yet.
    pub fn has_backup_stamp(&self) -> bool {
        self.backup_stamp.is_some()
    }

    /// Records who the members are; a later identification replaces an earlier one.
    pub fn record_identities(&mut self, identities: Identities) {
        self.identities = Some(identities);
    }

    /// `host`'s member was removed from the cluster.
    pub fn record_removed(&mut self, host: &str) {
        if !self.removed.iter().any(|h| h == host) {
            self.removed.push(host.to_string());
        }
    }

    /// `host`'s member is in the cluster again (added or joined).
    pub fn record_added(&mut self, host: &str) {
        self.removed.retain(|h| h != host);
    }

    /// Hosts whose member this run removed and has not added back.
    pub fn removed(&self) -> &[String] {
        &self.removed
    }

    /// Who the members are, if this run (or the run it resumes) has identified them.
    pub fn identities(&self) -> Option<&Identities> {
        self.identities.as_ref()
    }

    /// The masters were stopped at `at`; an outage already open (a stop again, or a resumed
    /// run) keeps its start.
    pub fn record_masters_stopped(&mut self, at: DateTime<Utc>) -> &ApiOutage {
        if !self.api_outage.as_ref().is_some_and(ApiOutage::is_open) {
            self.api_outage = Some(ApiOutage {
                stopped_at: at,
                restarted_at: None,
            });
        }
        self.api_outage.as_ref().expect("just set")
    }

    /// The masters are active again at `at`: the open outage ends. `None` if none was open.
    pub fn record_masters_restarted(&mut self, at: DateTime<Utc>) -> Option<&ApiOutage> {
        let outage = self.api_outage.as_mut().filter(|o| o.is_open())?;
        outage.restarted_at = Some(at);
        Some(outage)
    }

    /// The last API outage of this run, if the masters were stopped.
    pub fn api_outage(&self) -> Option<&ApiOutage> {
        self.api_outage.as_ref()
    }

    /// A new stamp from the clock, for a stamp found taken.
    pub fn renew_backup_stamp(&mut self) -> String {
        self.backup_stamp = None;
        self.backup_stamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(host: &str, dir: &str) -> VerifiedBackup {
        VerifiedBackup {
            host: host.into(),
            dir: dir.into(),
            files: 1,
            bytes: 2,
            verified_at: Utc::now(),
            method: BackupMethod::Copy,
        }
    }

    #[test]
    fn latest_backup_per_host_wins_and_can_be_forgotten() {
        let mut facts = RunFacts::default();
        facts.record_backup(backup("etcd-1", "/a"));
        facts.record_backup(backup("etcd-2", "/b"));
        facts.record_backup(backup("etcd-1", "/c"));
        assert_eq!(
            facts.backup_of("etcd-1").map(|b| b.dir.as_str()),
            Some("/c")
        );
        facts.forget_backup("etcd-1", "/c");
        assert_eq!(
            facts.backup_of("etcd-1").map(|b| b.dir.as_str()),
            Some("/a")
        );
        assert!(facts.backup_of("etcd-3").is_none());
    }

    #[test]
    fn one_stamp_per_run() {
        let mut facts = RunFacts::default();
        let first = facts.backup_stamp();
        assert_eq!(first.len(), 14);
        assert!(first.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(facts.backup_stamp(), first);
    }
}
