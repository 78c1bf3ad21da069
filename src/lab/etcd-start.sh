#!/bin/sh
# etcd as systemd's etcd.service runs it: etc/etcd/etcd.conf is the EnvironmentFile,
# read afresh at every start, so edits (ETCD_FORCE_NEW_CLUSTER=true, ...) apply on restart.
set -a
. ./etc/etcd/etcd.conf
set +a
exec @ETCD@
