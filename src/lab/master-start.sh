#!/bin/sh
# A stand-in for an OpenShift master service: logs when it started and which storage
# backend master-config.yaml selects, then idles until stopped; the API service writes to
# etcd instead when the lab has a writer (`lab up --master-writes`), and the master of an
# embedded etcd (`lab up --layout embedded`) runs etcd from the config's etcdConfig.
config=./etc/origin/master/master-config.yaml
backend=$(awk '
    /^[ ]*storage-backend:/ {
        line = $0
        sub(/^[ ]*storage-backend:[ ]*/, "", line)
        if (line != "") { gsub(/[][ "]/, "", line); print line; exit }
        want = 1; next
    }
    want && /^[ ]*-/ { line = $0; sub(/^[ ]*-[ ]*/, "", line); gsub(/"/, "", line); print line; exit }
    want { exit }
' "$config" 2>/dev/null)
echo "$(date '+%Y-%m-%dT%H:%M:%S%z') @SERVICE@ started pid=$$ storage-backend=${backend:-unset}"
embedded_etcd=./lib/lab-service/embedded-etcd.py
[ -x "$embedded_etcd" ] && exec python3 "$embedded_etcd" "$config"
writer=./lib/lab-service/master-writer.py
case @SERVICE@ in
    *-api) [ -x "$writer" ] && exec python3 "$writer" "$config" "${backend:-etcd2}" ;;
esac
exec sleep 2147483647
