#!/bin/sh
# etcd as systemd's @SERVICE@.service runs it: etc/etcd/etcd.conf is the EnvironmentFile
# (the system container's runc config reads the same file), read afresh at every start,
# so edits (ETCD_FORCE_NEW_CLUSTER=true, ...) apply on restart.
# etcd writes some files (member/snap/*.snap) with 0666 less the umask: keep them owner-only.
umask 077
set -a
. ./etc/etcd/etcd.conf
set +a
exec @ETCD@
