#!/usr/bin/env bash
# The documented manual etcd v2 -> v3 migration (OpenShift 3.7 docs, "Running the Migration
# Manually"), one host at a time with plain etcdctl and the hosts' service commands: the
# baseline of the migration outage bench (benches/migration_outage.rs, docs/benchmarks.md).
#
#   benches/manual-procedure.sh INVENTORY [per-key|txn]
#
# INVENTORY is a lab's inventory.ini (`runbook lab up --dir DIR --tls`); every path, port and
# service command is taken from it. The last argument picks how TTLs are re-attached after
# the migration (the docs' `oc adm migrate etcd-ttl` does not exist here):
#   per-key (default): one lease per prefix, then one `etcdctl put --ignore-value --lease`
#                      process per key, as an operator's shell loop would;
#   txn:               the same puts in `etcdctl txn` batches of 128 (etcd's --max-txn-ops).
# Prints "@@ <epoch seconds> <step>" as each step starts, "@@ <epoch> done" at the end, and
# MASTERS_STOPPED=<epoch> / MASTERS_RESTARTED=<epoch> around the outage.
set -euo pipefail

inventory=${1:?usage: $0 INVENTORY [per-key|txn]}
ttl_mode=${2:-per-key}
case $ttl_mode in per-key|txn) ;; *) echo "unknown TTL mode: $ttl_mode" >&2; exit 2 ;; esac
[ -f "$inventory" ] || { echo "no inventory at $inventory" >&2; exit 1; }

now() { date +%s.%N; }
step() { echo "@@ $(now) $*"; }
fail() { echo "manual procedure: $*" >&2; exit 1; }

# The inventory's host variables as shell variables: ETCD_HOSTS, MASTER_HOSTS and, per host
# (name with '-' as '_'), <var>_<host>. Ansible INI values use shell-like quoting.
eval "$(python3 - "$inventory" <<'EOF'
import shlex, sys
section, hosts = None, {}
for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.strip()
    if not line or line.startswith(("#", ";")):
        continue
    if line.startswith("["):
        section = line.strip("[]")
        continue
    if section not in ("etcd", "masters"):
        continue
    name, *pairs = shlex.split(line)
    hosts.setdefault(section, []).append(name)
    for pair in pairs:
        key, _, value = pair.partition("=")
        print(f"{key}_{name.replace('-', '_')}={shlex.quote(value)}")
print("ETCD_HOSTS=(" + " ".join(hosts.get("etcd", [])) + ")")
print("MASTER_HOSTS=(" + " ".join(hosts.get("masters", [])) + ")")
EOF
)"
[ ${#ETCD_HOSTS[@]} -ge 1 ] || fail "no [etcd] hosts in $inventory"
[ ${#MASTER_HOSTS[@]} -ge 1 ] || fail "no [masters] hosts in $inventory"

var() { # var NAME HOST
    local name="$1_${2//-/_}"
    [ -n "${!name:-}" ] || fail "host $2 has no $1 in $inventory"
    printf '%s' "${!name}"
}
# Runs a host's service command (runbook_service_command, as systemctl would be run).
service() { # service HOST ACTION SERVICE
    local template
    template=$(var runbook_service_command "$1")
    template=${template//\{action\}/$2}
    eval "${template//\{service\}/$3}"
}

etcd_service() { # the inventory's etcd_service, else etcd (the package's unit)
    local name="etcd_service_${1//-/_}"
    printf '%s' "${!name:-etcd}"
}
first=${ETCD_HOSTS[0]}
others=("${ETCD_HOSTS[@]:1}")
scheme=https
conf_dir_first=$(var etcd_conf_dir "$first")
client_url() { echo "$scheme://$(var etcd_ip "$1"):$(var etcd_client_port "$1")"; }
peer_url() { echo "$scheme://$(var etcd_ip "$1"):$(var etcd_peer_port "$1")"; }
endpoints=$(for h in "${ETCD_HOSTS[@]}"; do client_url "$h"; done | paste -sd, -)
# The client certificate of the lab (the members' peer certificate has clientAuth).
ca=$conf_dir_first/ca.crt cert=$conf_dir_first/peer.crt key=$conf_dir_first/peer.key
etcdctl2() { ETCDCTL_API=2 etcdctl --ca-file="$ca" --cert-file="$cert" --key-file="$key" "$@"; }
etcdctl3() { ETCDCTL_API=3 etcdctl --cacert="$ca" --cert="$cert" --key="$key" "$@"; }
master_services=(atomic-openshift-master-api atomic-openshift-master-controllers)

# etcd.service is Type=notify: `systemctl start etcd` returns once etcd serves. The lab's
# service command returns right after the start, so every start is followed by this wait
# (without it, a restart can stop etcd before force-new-cluster took effect).
wait_healthy() { # wait_healthy HOST: until its client URL answers a health check (2 min)
    local deadline=$((SECONDS + 120))
    until etcdctl3 --endpoints="$(client_url "$1")" --dial-timeout=2s endpoint health >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "etcd on $1 not healthy within 2 minutes"
        sleep 0.2
    done
}

# 2. Stop the masters and wait for etcd convergence.
step "stop the masters"
echo "MASTERS_STOPPED=$(now)"
for m in "${MASTER_HOSTS[@]}"; do
    for s in "${master_services[@]}"; do service "$m" stop "$s"; done
done

step "cluster-health"
# As an operator would (and as runbook's expect_healthy does): look again, up to 3 times,
# 1 s apart, before calling a member that is busy right after heavy writes unhealthy.
for attempt in 1 2 3; do
  health=$(etcdctl2 --endpoints="$endpoints" cluster-health || true)
  grep -q '^cluster is healthy$' <<<"$health" && break
  [ "$attempt" -lt 3 ] && sleep 1
done
echo "$health"
grep -q '^cluster is healthy$' <<<"$health" || fail "the cluster is not healthy"

step "raft index check"
# RAFT INDEX is the 8th field of the simple output; retry a minute later if they differ by > 1.
for attempt in 1 2 3; do
    indexes=$(etcdctl3 --endpoints="$endpoints" endpoint status | awk -F', ' '{print $8}')
    spread=$(echo "$indexes" | sort -n | awk 'NR==1{min=$1} {max=$1} END{print max-min}')
    echo "raft indexes: $(echo "$indexes" | paste -sd' ' -) (spread $spread)"
    [ "$spread" -le 1 ] && break
    [ $attempt -lt 3 ] || fail "raft indexes did not converge"
    sleep 60
done

# 1. A backup of every member (taken here, with the masters down, as the playbook does).
stamp=$(date +%Y%m%d%H%M%S)
for h in "${ETCD_HOSTS[@]}"; do
    step "backup $h"
    data=$(var etcd_data_dir "$h")
    etcdctl2 backup --data-dir "$data" --backup-dir "$data/openshift-backup-pre-migration$stamp"
    [ -d "$data/openshift-backup-pre-migration$stamp/member/wal" ] || fail "no backup of $h"
done

# 3. Migrate and scale up etcd.
step "stop etcd"
for h in "${ETCD_HOSTS[@]}"; do service "$h" stop "$(etcd_service "$h")"; done

step "migrate $first"
out=$(ETCDCTL_API=3 etcdctl migrate --data-dir="$(var etcd_data_dir "$first")")
echo "$out"
grep -q 'finished transforming keys' <<<"$out" || fail "etcdctl migrate did not finish on $first"

step "move member to member.old"
for h in "${others[@]}"; do
    data=$(var etcd_data_dir "$h")
    mv "$data/member" "$data/member.old"
done

conf() { echo "$(var etcd_conf_dir "$1")/etcd.conf"; }
step "force a new cluster on $first"
echo "ETCD_FORCE_NEW_CLUSTER=true" >> "$(conf "$first")"
service "$first" start "$(etcd_service "$first")"
wait_healthy "$first"
sed -i '/ETCD_FORCE_NEW_CLUSTER=true/d' "$(conf "$first")"
service "$first" restart "$(etcd_service "$first")"
wait_healthy "$first"

for h in "${others[@]}"; do
    step "add $h"
    # etcd refuses a member add until the members it has are connected for 5 s
    # ("unhealthy cluster"); an operator runs it again.
    deadline=$((SECONDS + 120))
    until added=$(etcdctl3 --endpoints="$(client_url "$first")" member add "$h" --peer-urls="$(peer_url "$h")" 2>&1); do
        grep -q 'unhealthy cluster' <<<"$added" || fail "member add $h: $added"
        [ $SECONDS -lt $deadline ] || fail "member add $h refused for 2 minutes: $added"
        sleep 0.5
    done
    echo "$added"
    initial=$(sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p' <<<"$added")
    [ -n "$initial" ] || fail "member add $h printed no ETCD_INITIAL_CLUSTER"
    sed -i -e "s|^ETCD_INITIAL_CLUSTER=.*|ETCD_INITIAL_CLUSTER=\"$initial\"|" \
        -e 's|^ETCD_INITIAL_CLUSTER_STATE=.*|ETCD_INITIAL_CLUSTER_STATE=existing|' "$(conf "$h")"
    service "$h" start "$(etcd_service "$h")"
    wait_healthy "$h"
done
health=$(etcdctl2 --endpoints="$endpoints" cluster-health)
echo "$health"
grep -q '^cluster is healthy$' <<<"$health" || fail "the cluster is not healthy after the scale-up"

# 3.6: re-attach TTLs, one lease per prefix with the docs' durations (the master's
# event-ttl 1h, master leases 10s, accessTokenMaxAgeSeconds 86400, authorizeTokenMaxAgeSeconds
# 500, controller leases 10s), as `oc adm migrate etcd-ttl` does.
step "attach TTLs ($ttl_mode)"
at=$(client_url "$first")
while read -r prefix seconds; do
    lease=$(etcdctl3 --endpoints="$at" lease grant "$seconds" | awk '{print $2}')
    [ -n "$lease" ] || fail "no lease granted for $prefix"
    # Keys only; etcdctl prints each key on its own line.
    keys=$(etcdctl3 --endpoints="$at" get --prefix --keys-only "$prefix/" | sed '/^$/d')
    count=0
    if [ -n "$keys" ]; then
        if [ "$ttl_mode" = per-key ]; then
            while IFS= read -r k; do
                etcdctl3 --endpoints="$at" put --ignore-value --lease="$lease" "$k" >/dev/null
                count=$((count + 1))
            done <<<"$keys"
        else
            mapfile -t list <<<"$keys"
            for ((i = 0; i < ${#list[@]}; i += 128)); do
                # One transaction: no compares, up to 128 puts, no failure requests
                # (each list ends with an empty line).
                {
                    echo
                    for k in "${list[@]:i:128}"; do echo "put --ignore-value --lease=$lease $k"; done
                    echo
                    echo
                } | etcdctl3 --endpoints="$at" txn >/dev/null
            done
            count=$(wc -l <<<"$keys")
        fi
    fi
    echo "$prefix: lease $lease (${seconds}s) attached to $count keys"
done <<'EOF'
/kubernetes.io/events 3600
/kubernetes.io/masterleases 10
/openshift.io/oauth/accesstokens 86400
/openshift.io/oauth/authorizetokens 500
/openshift.io/leases/controllers 10
EOF

# 4. Reconfigure the masters and restart them.
for m in "${MASTER_HOSTS[@]}"; do
    step "patch master-config.yaml on $m"
    config=$(var openshift_master_config_dir "$m")/master-config.yaml
    cp -p "$config" "$config.pre-etcd3"
    [ "$(grep -c '^  apiServerArguments:$' "$config")" = 1 ] \
        || fail "$config: not exactly one kubernetesMasterConfig.apiServerArguments"
    sed -i '/^  apiServerArguments:$/a\    storage-backend:\n    - etcd3\n    storage-media-type:\n    - application/vnd.kubernetes.protobuf' "$config"
done

step "restart the masters"
for m in "${MASTER_HOSTS[@]}"; do
    for s in "${master_services[@]}"; do service "$m" restart "$s"; done
done
echo "MASTERS_RESTARTED=$(now)"
step done
