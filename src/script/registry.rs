//! Every primitive a runbook can call, described once: signature, what it does, an
//! example, and whether it changes anything. `runbook doc`, the REPL's `:help` and
//! docs/primitives.md are generated from this table; a test checks it against the
//! functions the engine actually registers.

/// One documented primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Primitive {
    /// What it is called on: `etcd`, `lease`, `master`, `inventory`, `host`, `hosts` (an
    /// array of hosts), `service`, `row` (an entry of a report), `error` (what `catch`
    /// receives), or `` for a function.
    pub object: &'static str,
    pub name: &'static str,
    pub signature: &'static str,
    pub summary: &'static str,
    pub example: &'static str,
    /// Whether it changes a host or the cluster (`runbook check` only plans these).
    pub changes: bool,
}

impl Primitive {
    /// `etcd.backup`, `step`, ...
    pub fn full_name(&self) -> String {
        if self.object.is_empty() {
            self.name.to_string()
        } else {
            format!("{}.{}", self.object, self.name)
        }
    }
}

const fn p(
    object: &'static str,
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    example: &'static str,
    changes: bool,
) -> Primitive {
    Primitive {
        object,
        name,
        signature,
        summary,
        example,
        changes,
    }
}

/// The primitives, grouped by object.
pub const PRIMITIVES: &[Primitive] = &[
    p("", "step", "step(name[, #{always}], || { ... }) -> value", "Runs a named step: prints its start and end with timings, records it in the journal (.runbook/ next to the inventory, or the user's state directory when that is not writable, or `run --journal DIR`; none with `run --no-journal`), and skips it when `--resume` finds it finished (returning its recorded value). `always: true` runs it again on `--resume` although it finished: for gates (health, convergence) that must judge the cluster as it is now. `--start-at` skips it all the same.", "step(\"healthy\", #{always: true}, || etcd.expect_healthy());", false),
    p("", "is_check", "is_check() -> bool", "Whether the run only plans (`runbook check`): changes are planned, not made, and reads after them return planned stand-ins. A runbook skips what only makes sense after a real run (a closing report) with `if !is_check() { ... }`.", "if !is_check() { print(run_summary().outage); }", false),
    // inventory
    p("inventory", "group", "inventory.group(name) -> array of hosts", "The hosts of a group and of its child groups, in inventory order. Throws when the group does not exist.", "for h in inventory.group(\"etcd\") { print(h.name); }", false),
    p("inventory", "has_group", "inventory.has_group(name) -> bool", "Whether the inventory has that group.", "if !inventory.has_group(\"etcd\") { throw \"no [etcd]\"; }", false),
    p("inventory", "hosts", "inventory.hosts() -> array of hosts", "Every host, in inventory order.", "print(inventory.hosts().len());", false),
    p("inventory", "host", "inventory.host(name) -> host", "One host by name. Throws when there is none.", "let m = inventory.host(\"master-1\");", false),
    p("inventory", "groups", "inventory.groups() -> array of strings", "The names of all groups.", "print(inventory.groups());", false),
    p("inventory", "variable", "inventory.variable(name) -> value", "A variable of the `all` group (with `-e` overrides), or () when unset; passwords (`ansible_become_pass`, ...) read `(hidden)`.", "let kind = inventory.variable(\"deployment_type\");", false),
    // host
    p("host", "name", "host.name -> string", "The host's inventory name.", "print(h.name);", false),
    p("host", "vars", "host.vars -> map", "The host's effective variables (defaults, groups, host, -e); passwords (`ansible_become_pass`, ...) read `(hidden)`.", "print(h.vars.etcd_data_dir);", false),
    p("host", "variable", "host.variable(name) -> value", "One of the host's variables, or () when unset; a password reads `(hidden)`.", "let port = h.variable(\"etcd_client_port\");", false),
    p("host", "run", "host.run(command[, #{timeout, stdin, read_only}]) -> string", "Runs a shell command on the host; throws (host, command, exit code, stderr) unless it exits 0. Returns stdout without its final newline. A command is a change (`runbook check` plans it and returns \"\") unless `read_only: true`: then it runs for real, under `check` too, even after a planned change (it reads the current state), and joins no plan.", "let version = h.run(\"etcd --version | head -n 1\", #{read_only: true});", true),
    p("host", "try_run", "host.try_run(command[, #{timeout, stdin, read_only}]) -> #{host, code, stdout, stderr}", "Runs a shell command and returns its result whatever the exit code; stdout without its final newline, as `run` returns it. `read_only: true` as for `run`; a planned command returns `#{host, code: 0, stdout: \"\", stderr: \"\"}`.", "if h.try_run(\"test -d /var/lib/etcd\", #{read_only: true}).code != 0 { ... }", true),
    p("host", "read", "host.read(path) -> string", "Reads a text file on the host (for real under `runbook check` too, even after a planned change: it reads the current state).", "let conf = h.read(\"/etc/etcd/etcd.conf\");", false),
    p("host", "read_blob", "host.read_blob(path) -> blob", "Reads a file on the host as bytes (for real under `runbook check` too, as `read`).", "let db = h.read_blob(\"/var/lib/etcd/member/snap/db\");", false),
    p("host", "write", "host.write(path, text)", "Writes a file on the host atomically (temp file + rename), keeping an existing file's mode.", "h.write(\"/etc/motd\", \"migrating etcd\\n\");", true),
    p("host", "write_blob", "host.write_blob(path, blob)", "Writes bytes to a file on the host atomically (temp file + rename), keeping an existing file's mode.", "h.write_blob(\"/tmp/db.copy\", other.read_blob(\"/var/lib/etcd/member/snap/db\"));", true),
    p("host", "copy_to", "host.copy_to(path, other_host, dest) -> #{from_host, path, host, dest, bytes, sha256, already}", "Copies one file from this host to `dest` on another, through runbook in 16 MiB chunks (no ssh between the hosts): hashed (sha256) here, written as `dest.runbook-copy` there (mode 0600, its directory made), hashed there and only then renamed to `dest`. A `dest` with the same bytes is left alone (`already: true`); one with other bytes is refused, never overwritten.", "etcd1.copy_to(\"/var/lib/etcd/snap.db\", backup_host, \"/srv/etcd-backups/snap.db\");", true),
    p("host", "exists", "host.exists(path) -> bool", "Whether a file or directory exists on the host now (for real under `runbook check` too, even after a planned change).", "if h.exists(\"/var/lib/etcd/member\") { ... }", false),
    p("host", "service", "host.service(name) -> service", "A service on the host (systemctl, or the host's runbook_service_command).", "h.service(\"etcd\").stop();", false),
    p("hosts", "run_all", "hosts.run_all(command[, #{timeout, read_only}]) -> array of #{host, code, stdout, stderr}", "Runs one command on every host of an array at once; throws listing the hosts where it failed. Results in the array's order, stdout without its final newline. `read_only: true` as for `host.run`.", "inventory.group(\"etcd\").run_all(\"sync\");", true),
    p("hosts", "try_run_all", "hosts.try_run_all(command[, #{timeout, read_only}]) -> array of #{host, code, stdout, stderr}", "Like run_all, without failing on non-zero exits.", "let codes = hosts.try_run_all(\"systemctl is-active etcd\").map(|r| r.code);", true),
    // service
    p("service", "name", "service.name -> string", "The service's name.", "print(s.name);", false),
    p("service", "start", "service.start()", "Starts the service.", "h.service(\"etcd\").start();", true),
    p("service", "stop", "service.stop()", "Stops the service.", "h.service(\"etcd\").stop();", true),
    p("service", "restart", "service.restart()", "Restarts the service, so it reads its configuration again.", "h.service(\"etcd\").restart();", true),
    p("service", "is_active", "service.is_active() -> bool", "Whether the service is running.", "if h.service(\"etcd\").is_active() { ... }", false),
    // etcd: state
    p("", "run_summary", "run_summary() -> #{outage, online_seconds, steps, backups, journal, rollback}", "What the run did, for its closing report: the API outage (`#{seconds, stopped_at, restarted_at}`, from master.stop to master.restart; a resumed run counts from the first stop), the seconds since the masters returned, each finished step of this run and the runs it resumed (`#{name, seconds, phase}`, phase `before`, `outage` or `online`), the verified backups (`#{host, dir, method, files, bytes}`), the journal's path and the rollback command.", "let done = run_summary(); print(done.outage.seconds);", false),
    p("", "summary", "summary(text, data) -> Summary", "The run's result when the runbook ends with it: `text` is what people see, `data` (a map or array) what `--output json` carries as the value.", "summary(report::table([\"WHAT\", \"VALUE\"], rows), run_summary())", false),
    p("", "now_utc", "now_utc() -> string", "Now, in UTC, as RFC 3339 to the second: `2026-12-02T13:20:05Z`.", "print(`started ${now_utc()}`);", false),
    p("", "timestamp", "timestamp(format) -> string", "Now, in UTC, in a strftime format (%Y %m %d %H %M %S ...); a format that is not one is an error.", "let dir = `/var/backups/etcd-${timestamp(\"%Y%m%d-%H%M%S\")}`;", false),
    p("", "shell_quote", "shell_quote(text) -> string", "`text` as one word for a POSIX shell (single-quoted), for commands built from values.", "h.run(`ls -l ${shell_quote(path)}`);", false),
    p("", "parse_json", "parse_json(text) -> value", "One JSON value as Rhai values (objects as maps, null as ()); an error names the line and column where the text stops being JSON.", "let members = parse_json(h.run(\"cat members.json\"));", false),
    p("", "to_json", "to_json(value) -> string", "A value as compact JSON (map keys sorted, () as null).", "h.write(\"/tmp/report.json\", to_json(report));", false),
    p("", "wait", "wait(duration)", "Waits (\"10s\", \"2m\"); Ctrl-C ends the wait and the run at once. In `runbook check`, after a planned change, the wait is only planned.", "wait(\"30s\");", false),
    p("", "fail", "fail(message[, help])", "Stops the runbook with an operator-facing error: the message and help as written, without the script excerpt and caret a script error shows (code runbook::failed). `catch (e)` receives it like any error.", "if etcd.members().len() < 3 { fail(\"the cluster has fewer than 3 members\", \"add a member first\"); }", false),
    p("etcd", "health", "etcd.health() -> health report", "Every member's v2 (cluster-health) and v3 (endpoint health) health; prints as a table; `.healthy`, `.unhealthy` (names), `.planned`, `.members`: one row per member (see row) with `member`, `host`, `endpoint`, `v2_healthy`, `v3_healthy`, `healthy`, `took`, `took_ms`, `error` (`()` when healthy). Follows the live membership: a host whose member this run removed with member_remove (and has not added back with member_add or join) is left out, said once on stderr; so it is by status, hashkv and wait_converged. Any other host the cluster does not list stays in, and shows as unhealthy. Under `runbook check` after a planned change: every member healthy, `.planned` true, its table reads (planned).", "print(etcd.health());", false),
    p("etcd", "expect_healthy", "etcd.expect_healthy([#{hosts, except}]) -> health report", "Like health(), but throws naming each unhealthy member and why (after looking up to 3 times, 1 s apart, so a member busy for a moment is not called unhealthy). `hosts: [..]` checks only those members (even one `member list` does not name), `except: [..]` all but those.", "etcd.expect_healthy(#{except: [\"etcd-2\"]});", false),
    p("etcd", "wait_healthy", "etcd.wait_healthy(host[, #{timeout: \"2m\"}]) -> row", "Polls one member (every 0.5 s) until it is healthy through v2 and v3; throws with its last error when the timeout (default 2 minutes) runs out. Returns its row as in `health().members`.", "etcd.wait_healthy(\"etcd-2\", #{timeout: \"5m\"});", false),
    p("etcd", "status", "etcd.status() -> status report", "Every member's `endpoint status` (as `etcdctl endpoint status -w table`); `.leader` (hex id), `.leader_host`, `.reachable`, `.planned`, `.members`: one row per member (see row) with `member`, `host`, `endpoint`, `id` and `leader` (hex), `version`, `db_size` and `db_size_in_use` (bytes; etcd 3.4's dbSize and dbSizeInUse), `is_leader`, `leader_host` (the inventory host of the leader), `raft_term`, `raft_index`, `raft_applied_index`, `revision`, `error`. A member that does not answer keeps every key: `()` but member, host, endpoint and error. Follows the live membership as health() does.", "print(etcd.status().leader_host);", false),
    p("etcd", "wait_converged", "etcd.wait_converged([#{tolerance: 1, timeout: \"2m\", interval: \"5s\"}]) -> status report", "Polls until the live members' raft indexes are within `tolerance`; throws on timeout with each member's last index.", "etcd.wait_converged(#{timeout: \"5m\"});", false),
    p("etcd", "hashkv", "etcd.hashkv() -> hashkv report", "Every live member's hash of its key-value store at one common revision (when that revision is compacted: each member's latest revision, and then they agree only when the revisions agree too); `.agree`, `.revision`, `.planned`, `.members`: one row per member (see row) with `member`, `host`, `endpoint`, `hash`, `revision`, `compact_revision` (`()` when it gave no hash), `error`.", "print(etcd.hashkv().agree);", false),
    p("etcd", "expect_hashkv_agree", "etcd.expect_hashkv_agree() -> hashkv report", "Like hashkv(), but throws listing the members whose hash differs.", "etcd.expect_hashkv_agree();", false),
    p("etcd", "v3_key_count", "etcd.v3_key_count() -> int", "The number of keys in the v3 keyspace (counted, not fetched). Recorded: etcd.migrate needs the last count of the run to be 0.", "if etcd.v3_key_count() != 0 { throw \"v3 data exists\"; }", false),
    p("etcd", "has_v2_snapshot", "etcd.has_v2_snapshot(host) -> bool", "Whether the member's data dir holds a v2 snapshot (member/snap/*.snap), which etcdctl migrate reads.", "etcd.has_v2_snapshot(inventory.host(\"etcd-1\"))", false),
    p("etcd", "identify", "etcd.identify() -> array of #{host, name, id, peer_urls, client_urls, data_dir, source}", "Matches every host of [etcd] with a member of the running cluster (`member list`; ETCD_NAME, URLs and ETCD_DATA_DIR from each host's etcd.conf) and records who they are for the rest of the run: every primitive then uses the members' own names, URLs and data dirs. Prints the mapping; refuses when a host is no member or a member no host. Without it, the first etcd primitive identifies the members the same way but does not refuse.", "let members = etcd.identify();", false),
    p("etcd", "member_update", "etcd.member_update(host, peer_url) -> member", "`member update`: gives the host's member the peer URL `peer_url` (the only primitive that changes one). Returns the member as it was.", "etcd.member_update(h, \"https://10.0.0.11:2380\");", true),
    p("etcd", "members", "etcd.members() -> array of #{id, name, peer_urls, client_urls, is_learner}", "The members the cluster knows.", "print(etcd.members().map(|m| m.name));", false),
    p("etcd", "verify", "etcd.verify(host) -> #{v2_keys, hidden, v3_checked, expired, missing, different_value, different_revision, mismatches}", "On the member etcd.migrate ran on: every leaf of the v2 store it was migrated from (read from etcd's files, hidden keys included) against v3: present unless its v2 expiry has passed, same value, same create and mod revision (hidden keys, written anew by etcd.migrate_missing: value only); throws naming the first mismatches.", "etcd.verify(inventory.host(\"etcd-1\"));", false),
    // etcd: changes
    p("etcd", "backup", "etcd.backup([#{hosts, dir, check, stopped, keep}]) -> array of #{host, dir, files, bytes, method}", "With `stopped: true` (every member stopped): the data dirs themselves, each `member` hashed, its manifest written, then moved into the backup (a rename: the backup is the original files), and a copy of the first member's (or `keep`'s) put back in place for `etcdctl migrate` to work on: method `move` (`copy`, hashed side by side with the live files, when the backup dir is on another filesystem), restored as the cluster itself. Otherwise backs up every member at once into <data_dir>/openshift-backup-pre-migration<stamp>: free space checked first, etcdctl backup, a copy of member/snap/db and of etcd.conf, a sha256 manifest, mode 0700. Fails listing every host if any fails. With `check: true` it only checks that each backup can be made (directory, data dir, etcdctl, free space) and writes nothing.", "let backups = etcd.backup();", true),
    p("etcd", "stop", "etcd.stop([#{hosts}])", "Stops etcd on every member (or `hosts`) at once and returns once each service is stopped; a failure lists every host's outcome.", "etcd.stop();", true),
    p("etcd", "start", "etcd.start([#{hosts, timeout}]) -> array of #{host, raft_index}", "Starts etcd on every member (or `hosts`) at once and returns once each serves with a leader: members restored from their own data dirs have a quorum only once enough of them run.", "etcd.start(#{timeout: \"2m\"});", true),
    p("etcd", "verify_backup", "etcd.verify_backup(backups or host) -> same", "Re-hashes a backup on its host against its manifest; missing, extra or changed files are named.", "for b in backups { etcd.verify_backup(b); }", false),
    p("etcd", "migrate", "etcd.migrate(host) -> #{host, result, v2_keys, hidden_keys, ttl_keys, v2_store, output}", "ETCDCTL_API=3 etcdctl migrate on one member, only if: etcd is stopped there, a v2 snapshot exists, the run counted 0 v3 keys, a verified backup of that member exists, and no migration is recorded on any member. First reads the member's v2 store from its files (hidden keys and expiries included) and keeps a copy in <data_dir>/runbook-v2-store (or reads it from a backup made of the stopped data dir) for migrate_missing, verify and lease.restore_ttls. On a host with eight times the v2 data (newest snapshot and WAL) in MemAvailable, etcdctl runs with GOGC=400: it holds the whole store in memory, and collecting less often made it about a fifth faster at 450,000 keys.", "etcd.migrate(inventory.group(\"etcd\")[0]);", true),
    p("etcd", "migrate_missing", "etcd.migrate_missing(host) -> #{host, v2_keys, missing, written, hidden, expired, appeared, first}", "After etcd.migrate and force_new_cluster on that member: writes into v3, with their values, the v2 keys etcdctl migrate left out (it exports through a v2 listing, which hides every key with a `_` segment), only where v3 has no such key; keys whose v2 expiry has passed are not written.", "etcd.migrate_missing(first);", true),
    p("etcd", "drop_v2_copies", "etcd.drop_v2_copies(host, prefixes) -> array of #{prefix, v2_keys, v3_keys, dropped}", "After etcd.migrate and etcd.verify on that member in this run: drops the v2 directories `prefixes` (the masters' storage prefixes), each only if v3 holds keys under it; every prefix is checked before any is dropped. Deleted in recursive deletes of at most 100,000 leaves (about a quarter of a second of etcd's apply loop each), deepest first. The backups keep the v2 data; the snapshots joining members receive (which clone the whole v2 store while no write is applied) and etcd's memory no longer carry it.", "etcd.drop_v2_copies(first, [\"/kubernetes.io\", \"/openshift.io\"]);", true),
    p("etcd", "force_new_cluster", "etcd.force_new_cluster(host[, #{timeout, restart}]) -> #{host, member_id, peer_url, peer_urls, ...}", "Starts a stopped member as a new one-member cluster with its data (ETCD_FORCE_NEW_CLUSTER=true, then restarted without it; etcd.conf copy kept); every other member must be stopped. The member keeps the peer URLs its data holds. `restart: false` takes the flag out of etcd.conf once etcd serves and skips the restart: the flag acts only at boot, and the restart loads the whole store a second time.", "etcd.force_new_cluster(first);", true),
    p("etcd", "embedded_config", "etcd.embedded_config(host) -> #{host, path, member_name, client_url, peer_url, data_dir}", "The etcdConfig section of the member's master-config.yaml: how its master runs the embedded etcd (origin names the member openshift.local). Throws when the file has no etcdConfig.", "let config = etcd.embedded_config(first);", false),
    p("etcd", "start_standalone", "etcd.start_standalone(host[, #{timeout}]) -> #{host, pid, client_url, log_file, already_running, fillers}", "Runs the etcd embedded in a stopped master as a process of its own, from master-config.yaml's etcdConfig (the same member name, data, URLs and certificates, as origin runs it), and waits until it serves; the etcd primitives then work on its data while the master is down. After etcd.migrate the raft log is first filled past the index the migration left (`fillers` no-op member updates). Needs the etcd binary on the host; a second call finds the one already running. Its PID and log are beside the data dir (`<storageDirectory>.runbook-standalone.pid`, `.log`).", "etcd.start_standalone(first);", true),
    p("etcd", "stop_standalone", "etcd.stop_standalone(host) -> #{host, pid}", "Stops the etcd that start_standalone started, by its recorded PID once its command line names the data dir (SIGTERM, then SIGKILL after 30 s); `pid` is () when none ran.", "etcd.stop_standalone(first);", true),
    p("etcd", "copy_backup", "etcd.copy_backup(from, to) -> #{from_host, backup, host, member_dir, files, bytes, already}", "Copies the newest verified backup of `from` (the one etcd.backup recorded in this run, else the newest in its data dir; `from` may be a master, for the etcd embedded in it) into the data dir of the member `to`, which must hold no `member` directory yet. The data goes through runbook, file by file in 16 MiB chunks, never through a third machine: the backup is re-hashed against its manifest first, and the copy is hashed on `to` against the same manifest before it is renamed to `member` (owned like the data dir, owner-only). A second call finds the copy in place (`already`).", "etcd.copy_backup(master, target);", true),
    p("etcd", "write_new_conf", "etcd.write_new_conf(host) -> #{host, path, action, copy, name, client_url, peer_url}", "Writes the etcd.conf of a member that has none yet, as openshift-ansible's etcd.conf.j2 does from the inventory (ETCD_NAME from etcd_hostname, URLs from etcd_ip and the ports, etcd_data_dir, the TLS files), for a cluster of that one member, with the v2 API on. `action` is `created`, `kept` (the file already sets the same) or `replaced` (the old one kept as `copy`, `etcd.conf.runbook-<stamp>`).", "etcd.write_new_conf(target);", true),
    p("etcd", "v3_fingerprint", "etcd.v3_fingerprint(host) -> #{host, revision, keys, hash, compact_revision}", "The revision, number of keys and HashKV of the v3 data a member serves (or a master whose embedded etcd runs on its own, etcd.start_standalone). Taken while nothing writes, it tells whether a copy of the data holds the same (etcd.compare_v3), also after the member it was taken of has stopped.", "let before = etcd.v3_fingerprint(target);", false),
    p("etcd", "compare_v3", "etcd.compare_v3(origin, copy) -> #{origin, copy}", "Checks that `copy` holds the v3 data `origin` held: each is a host that serves now (a member, or a master whose embedded etcd runs on its own) or a fingerprint etcd.v3_fingerprint returned earlier. The same revision, number of keys and HashKV cover every key, value and revision. Throws naming what differs; returns both fingerprints.", "etcd.compare_v3(master, target);", false),
    p("etcd", "issue_certificates", "etcd.issue_certificates(host[, #{master}]) -> #{host, ca_dir, ca, files: [#{host, path, action, copy}]}", "The certificates openshift-ansible's embedded2external.yml makes for an external etcd member and (with `master`) the master that uses it, with openssl on the hosts. On the member's host, the etcd CA in etcd_ca_dir as deploy_ca.yml lays it out (ca.crt, ca.key, openssl.cnf from fragments/, index.txt, serial, certs/, crl/; RSA 4096, CN etcd-signer@<epoch>, 5 years); the member's server certificate (serverAuth) and peer certificate (serverAuth and clientAuth), both for IP:etcd_ip and DNS:etcd_hostname, and etcd_ca_file, a copy of the CA's; and the master's master.etcd-client.crt/.key (clientAuth, CN its hostname), issued on the CA host in generated_certs/ and copied through runbook to openshift_master_config_dir with master.etcd-ca.crt. Keys are made on the CA host, never on a command line; the member's and the master's files are 0600, as openshift-ansible sets them (for the etcd package, owned by etcd). What is valid stays byte for byte: a sound CA (ca.crt a CA, unexpired, ca.key its key), certificates signed by it, unexpired, for the member's etcd_ip and their purpose, with their own key. A broken CA is refused, naming the file, and nothing changes. A replaced member file is kept as <file>.runbook-<UTC stamp>; a master's the first time as <file>.runbook-embedded (never overwritten), after that stamped. A second call changes nothing. `ca` is created or kept; each file's `action` created, kept or replaced, `copy` the kept copy or ().", "etcd.issue_certificates(target, #{master: master});", true),
    p("etcd", "join", "etcd.join(host[, #{timeout, learner}]) -> #{host, member_id, moved_to, promoted, ...}", "Joins a stopped member to the running cluster: its data moved to member.old.<stamp>, member add (on etcd 3.4 and later as a learner, which the quorum does not count; `learner: false` adds a voting member, for a v2 cluster `etcdctl migrate` will read, whose 3.4 replay cannot take a learner), etcd.conf rewritten (copy kept), started, caught up, then promoted to a voting member (`promoted: true`).", "for m in others { etcd.join(m); }", true),
    p("etcd", "member_add", "etcd.member_add(host) -> #{id, initial_cluster, already_present}", "`member add` of the host's peer URL (retried; an earlier add of the same URL counts).", "let added = etcd.member_add(h);", true),
    p("etcd", "member_remove", "etcd.member_remove(host) -> member", "Removes the host's member from the cluster.", "etcd.member_remove(h);", true),
    p("etcd", "restore", "etcd.restore(host[, #{dir}]) -> #{host, backup, backup_created, files, bytes, moved_to, record_moved_to}", "Restores a member whose etcd is stopped from its newest verified openshift-backup-pre-migration* backup (or `dir`): re-hashed against its manifest, <data_dir>/member moved to member.migrated.<stamp> (kept), a copy of the backup's member dir put in its place, the migration record moved aside. Start it next with force_new_cluster.", "etcd.restore(first); etcd.force_new_cluster(first);", true),
    p("etcd", "restore_conf", "etcd.restore_conf(host) -> #{host, backup, restored, copy, note}", "Puts the member's etcd.conf back as its newest verified pre-migration backup holds it (etcd.backup keeps a copy), the replaced file kept as etcd.conf.runbook-<stamp>. For once the restored cluster runs: rebuilding it rewrote the ETCD_INITIAL_* settings, which a member with data no longer reads.", "for m in members { etcd.restore_conf(m); }", true),
    p("etcd", "clear_migration_record", "etcd.clear_migration_record(host) -> path or ()", "Moves a member's migration record aside (.rolled-back.<stamp>), only if the cluster, counted through that member's running etcd, holds no v3 keys.", "etcd.join(m); etcd.clear_migration_record(m);", true),
    p("etcd", "compare_with_backup", "etcd.compare_with_backup(host[, #{dir, live}]) -> #{backup, backup_keys, members, differences, ...}", "Reads the host's newest verified pre-migration backup (or `dir`) and every live member's (or those of the hosts in `live`; a master names the etcd embedded in it) v2 store from etcd's files (hidden keys included, nothing asked of etcd) and compares every v2 leaf (value, createdIndex, modifiedIndex); keys whose TTL ran out are counted apart; throws naming the first differences.", "etcd.compare_with_backup(first);", false),
    // etcd: data, maintenance, snapshots, etcdctl
    p("etcd", "get", "etcd.get(key[, #{prefix, keys_only, limit, revision}]) -> array of #{key, value, create_revision, mod_revision, version, lease}", "Reads one v3 key (an empty array when absent), or with `prefix` every key starting with `key` (`\"\"`: every key), through the cluster's v3 client, in key order. A prefix is read in pages of 500 keys, every page at the revision of the first (one consistent view), never in one answer; `limit` stops after that many keys, `keys_only` leaves `value` (), `revision` reads the history at that revision (refused above the current one; a compacted one fails naming the compaction). Keys and values that are UTF-8 come back as strings, others as blobs; `lease` is the lease id (0 for none).", "for kv in etcd.get(\"/kubernetes.io/namespaces/\", #{prefix: true, keys_only: true}) { print(kv.key); }", false),
    p("etcd", "put", "etcd.put(key, value[, #{lease}]) -> #{key, revision}", "Writes a v3 key (the value a string or a blob), on lease `lease` (its id) when given; `revision` is the revision the write made.", "etcd.put(\"/runbook/marker\", \"migrated\");", true),
    p("etcd", "delete", "etcd.delete(key[, #{prefix}]) -> #{deleted, revision}", "Deletes a v3 key, or with `prefix` every key starting with it (an empty key is refused, so never the whole keyspace); `deleted` counts the keys that went, `revision` is the cluster's revision after.", "etcd.delete(\"/runbook/\", #{prefix: true});", true),
    p("etcd", "v2_get", "etcd.v2_get(key) -> #{key, value, dir, ttl, created_index, modified_index} or ()", "One v2 key through the v2 HTTP API of the first member that answers (never a recursive read): its value (() for a directory), whether it is a directory, its TTL in seconds (() for none) and indexes; () when there is no such key.", "let node = etcd.v2_get(\"/kubernetes.io/namespaces/default\");", false),
    p("etcd", "v2_ls", "etcd.v2_ls(dir) -> array of strings", "The keys of a v2 directory's children, one level, sorted (an empty array when it does not exist), through the v2 HTTP API.", "for k in etcd.v2_ls(\"/kubernetes.io\") { print(k); }", false),
    p("etcd", "key_counts", "etcd.key_counts() -> array of rows #{member, host, v2, v3, error}", "Every member's own count of its v3 keys (a serializable count-only range on that member, so members that disagree show), concurrently. `v2` is always (): the v2 API counts keys only by a recursive read of the whole store, which costs a large member gigabytes (etcd.compare_with_backup counts the v2 leaves from the members' files). A member that does not answer has `error` set and `v3` ().", "for c in etcd.key_counts() { print(`${c.host}: ${c.v3}`); }", false),
    p("etcd", "alarms", "etcd.alarms() -> array of rows #{member, host, alarm}", "The alarms the cluster has raised (`alarm` NOSPACE or CORRUPT), each with the member's name (its id in hex if the cluster does not list it) and inventory host (() if none).", "if etcd.alarms().len() > 0 { throw \"etcd has alarms\"; }", false),
    p("etcd", "disarm", "etcd.disarm([alarm]) -> array of rows #{member, host, alarm}", "Disarms every raised alarm, or only those of one kind (\"NOSPACE\", \"CORRUPT\"); returns those disarmed. Free space first (etcd.compact, etcd.defrag), or a NOSPACE alarm comes back.", "etcd.disarm(\"NOSPACE\");", true),
    p("etcd", "defrag", "etcd.defrag(host[, #{timeout}]) -> #{host, member, db_size_before, db_size_after, seconds}", "Defragments one member's backend, which blocks that member meanwhile (do one member at a time), with its db size before and after. Waits up to `timeout` (default 30m); Ctrl-C stops the wait (etcd finishes on its own).", "for m in inventory.group(\"etcd\") { etcd.defrag(m); }", true),
    p("etcd", "compact", "etcd.compact(revision[, #{physical}]) -> #{revision, compacted_from}", "Drops the v3 history before `revision`: reads at older revisions fail afterwards. Refused for a revision above the current one and for one already compacted away; `compacted_from` is the oldest revision that could be read before (1 if nothing was compacted yet). `physical` waits until every member has freed the space.", "etcd.compact(etcd.status().members[0].revision, #{physical: true});", true),
    p("etcd", "snapshot_save", "etcd.snapshot_save(host, path) -> #{host, path, revision, keys, bytes, sha256}", "Saves a v3 snapshot of that member to `path` ON ITS HOST with the host's etcdctl (`snapshot save`, with the member's client URL and TLS files): written under a temp name in the same directory, owner-only (0600), then linked to `path`, so an existing file is refused and never overwritten. Returns what `etcdctl snapshot status` reads from the file (`revision`, `keys` as its totalKey: every entry of the file, not only live keys), its size and sha256.", "etcd.snapshot_save(first, \"/var/backups/etcd-before.db\");", true),
    p("etcd", "snapshot_status", "etcd.snapshot_status(host, path) -> #{host, path, revision, keys, bytes, sha256, hash}", "What a snapshot file on the member's host holds, as `etcdctl snapshot status -w json` there reads it (revision, totalKey as `keys`, its hash), with the file's size and sha256. Needs etcdctl on the host.", "let s = etcd.snapshot_status(first, \"/var/backups/etcd-before.db\");", false),
    p("etcd", "etcdctl", "etcd.etcdctl(host, args[, #{api, json, read_only}]) -> string or value", "Runs etcdctl (runbook_etcdctl_command) on the member's host against that member: its client URL and its TLS files there as flags (file names, never key material), `ETCDCTL_API` from `api` (3 by default, or 2). `args` is an array of strings (each quoted) or one string (shell words). Returns stdout without its final newline, or with `json: true` (`-w json`, v2 `-o json`) the parsed value. A non-zero exit throws with etcdctl's stderr. `runbook check` plans it as a change unless `read_only: true`.", "print(etcd.etcdctl(first, [\"endpoint\", \"status\"], #{json: true, read_only: true}));", true),
    // lease
    p("lease", "attach", "lease.attach(prefix, duration[, #{re_lease}]) -> #{lease, ttl, keys, attached, skipped, conflicts, ...}", "Grants one lease and attaches the key `prefix` and every key under prefix/ to it, never rewriting a value; keys already on a lease are skipped unless re_lease.", "lease.attach(\"/kubernetes.io/events\", \"1h\");", true),
    p("lease", "restore_ttls", "lease.restore_ttls(host, prefixes[, #{page_size, batch_size, concurrency}]) -> #{leases, expired_deleted, groups: [#{prefix, keys, leases, min_ttl, max_ttl, hidden, expired_deleted, ...}]}", "The migration's TTL step, from the v2 store `host` was migrated from: every key with a v2 expiry goes on a lease ending at most max(60 s, 2% of its prefix's TTL) after v2 would have deleted it; keys under `prefixes` (master.ttl_durations()) without one get the documented duration; keys whose expiry has passed are deleted (if unchanged). Leases are shared by keys expiring close together, each holding at most 5% of its prefix's keys (100 to 10,000).", "lease.restore_ttls(first, master.ttl_durations());", true),
    // master
    p("master", "hosts", "master.hosts() -> array of hosts", "The masters, in inventory order.", "print(master.hosts().len());", false),
    p("master", "patch", "master.patch() -> array of #{host, path, changed, backup, diff}", "Sets storage-backend: [etcd3] and storage-media-type: [application/vnd.kubernetes.protobuf] in every master's master-config.yaml (idempotent; a copy of the original is kept; the diff is shown). Only those lines change: comments, quoting, indentation, key order and line endings stay byte for byte; the result is parsed again and must be the intended change, and a shape it cannot edit in place (flow style, anchors) is refused naming the line, with nothing written.", "master.patch();", true),
    p("master", "unpatch", "master.unpatch() -> array of #{host, path, changed, backup, diff}", "Removes the two storage arguments again, restoring the original bytes when a copy says the same.", "master.unpatch();", true),
    p("master", "use_external_etcd", "master.use_external_etcd(urls[, #{ca}]) -> array of #{host, path, changed, backup, diff}", "Points every master's etcdClientInfo at external etcd members: `urls` (their client URLs) and the CA master.etcd-ca.crt (`ca` for another file), and removes etcdConfig, the embedded etcd's section, as openshift-ansible's embedded2external leaves the file. Edited in place (only those lines change); a copy of the original is kept and the diff shown; idempotent.", "master.use_external_etcd([\"https://etcd1.example.com:2379\"]);", true),
    p("master", "use_embedded_etcd", "master.use_embedded_etcd() -> array of #{host, path, changed, backup, diff, restored_original, restored_files}", "Puts back, byte for byte, the copy of every master's config that use_external_etcd started from (the one with etcdConfig whose move gives the file as it is); refused when there is none. Nothing changes on a config that has etcdConfig. The master's certificates for the embedded etcd come back too: the copies `master.etcd-client.crt`, `.key` and `master.etcd-ca.crt` got (`<file>.runbook-embedded`) when etcd.issue_certificates replaced them; what they replace is kept as `<file>.runbook-<stamp>` (`restored_files`).", "master.use_embedded_etcd();", true),
    p("master", "expect_moved_etcd", "master.expect_moved_etcd() -> [#{host, path, copy}]", "Checks, changing nothing, that every master's master-config.yaml is one master.use_external_etcd moved an embedded etcd out of, and that the copy master.use_embedded_etcd puts back is beside it; throws otherwise.", "master.expect_moved_etcd();", false),
    p("master", "ttl_durations", "master.ttl_durations() -> array of #{prefix, duration, seconds, source}", "The lease duration of each TTL prefix, from the first master's config (event-ttl, accessTokenMaxAgeSeconds, authorizeTokenMaxAgeSeconds, controllerLeaseTTL at least 1s).", "for t in master.ttl_durations() { lease.attach(t.prefix, t.duration); }", false),
    p("master", "stop", "master.stop() -> array of #{host, services}", "Stops every master's services, controllers before the API.", "master.stop();", true),
    p("master", "restart", "master.restart([#{timeout}]) -> array of #{host, services}", "Restarts every master's services, API before controllers, and waits until each is active.", "master.restart();", true),
    // report rows
    p("row", "to_map", "row.to_map() -> map", "A report row as a plain map. The entries of etcd.health(), status() and hashkv() `.members`, of etcd.key_counts(), of etcd.alarms() and etcd.disarm(), and what etcd.wait_healthy returns are rows: they read as maps do (`m.host`, `m[\"host\"]`, `keys`, `values`, `len`, `in`, `+`, `==`, `to_json`, print), and a documented field may be set; but their fields are fixed, so reading one they do not have (`m.is_leadr`) is an error naming the field meant, where a map would give (). Copy a row to add fields to it.", "let m = etcd.status().members[0].to_map(); m.note = \"checked\";", false),
    // errors
    p("error", "message", "e.message -> string", "What went wrong (in `catch (e)`).", "try { etcd.migrate(h) } catch (e) { print(e.message); }", false),
    p("error", "code", "e.code -> string", "The error's code, e.g. runbook::etcd::migrate::running.", "if e.code == \"runbook::host::command_failed\" { ... }", false),
    p("error", "help", "e.help -> string or ()", "What to do about it.", "print(e.help);", false),
];

/// Whether the primitive of that full name changes anything. Unknown names count as
/// changes: a primitive missing from the registry is planned, never run, by `check`.
pub fn changes(full_name: &str) -> bool {
    PRIMITIVES
        .iter()
        .find(|p| p.full_name() == full_name)
        .is_none_or(|p| p.changes)
}

/// The entry called `name` (`etcd.backup`, or just `backup` when unambiguous).
pub fn find(name: &str) -> Vec<&'static Primitive> {
    let exact: Vec<_> = PRIMITIVES
        .iter()
        .filter(|p| p.full_name() == name)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    PRIMITIVES.iter().filter(|p| p.name == name).collect()
}

/// One entry as text: signature, summary, example, whether it changes anything.
pub fn render(primitive: &Primitive) -> String {
    let changes = if primitive.changes {
        "changes hosts or the cluster (planned only by `runbook check`)"
    } else {
        "read-only"
    };
    format!(
        "{}\n    {}\n    {changes}\n    example: {}\n",
        primitive.signature, primitive.summary, primitive.example
    )
}

/// The whole reference as Markdown (docs/primitives.md).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Primitives\n\nGenerated by `runbook doc --markdown` from the registry in `src/script/registry.rs`; do not edit by hand.\n",
    );
    let mut object = None;
    for primitive in PRIMITIVES {
        if object != Some(primitive.object) {
            object = Some(primitive.object);
            let title = if primitive.object.is_empty() {
                "functions"
            } else {
                primitive.object
            };
            out.push_str(&format!(
                "\n## {title}\n\n| primitive | changes | what |\n|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} Example: `{}` |\n",
            primitive.signature.replace('|', "\\|"),
            if primitive.changes { "yes" } else { "no" },
            primitive.summary.replace('|', "\\|"),
            primitive.example.replace('|', "\\|")
        ));
    }
    out
}
