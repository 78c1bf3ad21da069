#!/bin/sh
# Service control for a runbook lab host, in the manner of systemctl:
#   lab-service HOST_DIR start|stop|restart|is-active SERVICE
# A service is the executable HOST_DIR/lib/lab-service/SERVICE, run from HOST_DIR in its
# own session (it outlives whoever started it), stdin /dev/null, output appended to
# HOST_DIR/var/log/SERVICE.log. HOST_DIR/run/SERVICE.pid holds "<pid> <start time>";
# the start time (clock ticks since boot, /proc/<pid>/stat field 22) guards against pid reuse.
set -u

usage() {
    echo "usage: $0 HOST_DIR start|stop|restart|is-active SERVICE" >&2
    exit 2
}
[ $# -eq 3 ] || usage
host_dir=$1
action=$2
service=$3
case $service in
    ''|*/*|.*) echo "invalid service name: $service" >&2; exit 2 ;;
esac
cd "$host_dir" || { echo "no such lab host directory: $host_dir" >&2; exit 1; }

start_script=lib/lab-service/$service
pid_file=run/$service.pid
log_file=var/log/$service.log

# Prints the start time of process $1; fails if it is gone or a zombie.
start_time() {
    stat_line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The command name (field 2) may hold spaces: drop everything up to its ")".
    rest=${stat_line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ "$1" != Z ] && [ "$1" != X ] || return 1
    shift 19
    echo "$1"
}

# Sets $pid and succeeds if the recorded process is alive and is the one we started.
running() {
    pid=
    [ -f "$pid_file" ] || return 1
    read -r pid recorded < "$pid_file" || return 1
    [ -n "$pid" ] || return 1
    now=$(start_time "$pid") || return 1
    [ "$now" = "$recorded" ]
}

do_start() {
    if running; then
        echo "$service is already running (pid $pid)"
        return 0
    fi
    if [ ! -x "$start_script" ]; then
        echo "unknown service $service on $host_dir (no executable $start_script)" >&2
        return 5
    fi
    mkdir -p run var/log
    echo "--- $(date '+%Y-%m-%dT%H:%M:%S%z') lab-service: starting $service" >> "$log_file"
    # In a non-interactive shell a background job is no process group leader,
    # so setsid(1) calls setsid() and execs without forking: $! is the service's pid.
    # 9>&-: the service must not inherit the lock, or it would hold it for its whole life.
    setsid "./$start_script" < /dev/null >> "$log_file" 2>&1 9>&- &
    pid=$!
    if started=$(start_time "$pid"); then
        echo "$pid $started" > "$pid_file.tmp" && mv "$pid_file.tmp" "$pid_file"
    fi
    sleep 0.5
    if running; then
        echo "started $service (pid $pid)"
        return 0
    fi
    rm -f "$pid_file"
    echo "$service on $host_dir exited right after start; the end of $log_file:" >&2
    tail -n 20 "$log_file" >&2
    return 1
}

do_stop() {
    if ! running; then
        rm -f "$pid_file"
        echo "$service is not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    waited=0
    while running && [ $waited -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if running; then
        echo "$service (pid $pid) did not stop within 10s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
        waited=0
        while running && [ $waited -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    if running; then
        echo "$service (pid $pid) is still running" >&2
        return 1
    fi
    rm -f "$pid_file"
    echo "stopped $service (pid $pid)"
    return 0
}

# Like systemd, one state change of a service at a time: two starts racing (say, a run
# killed mid-start and the run that resumes it) must not launch two processes.
if [ "$action" != is-active ] && command -v flock >/dev/null 2>&1; then
    mkdir -p run
    exec 9>"run/$service.lock"
    flock -w 60 9 || { echo "timed out waiting for another $action of $service" >&2; exit 1; }
fi

case $action in
    start) do_start ;;
    stop) do_stop ;;
    restart) do_stop && do_start ;;
    is-active)
        if running; then
            echo active
            exit 0
        fi
        echo inactive
        exit 3
        ;;
    *) usage ;;
esac
