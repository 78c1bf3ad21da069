#!/usr/bin/python3
"""systemctl for a runbook lab host, with the semantics of the real units and no init system.

Units are JSON files in /usr/local/lib/runbook-lab/units/<name>.json:
  {"description": ..., "exec": [argv], "user": "etcd", "environment_file": "/etc/etcd/etcd.conf",
   "working_directory": "/var/lib/etcd", "type": "notify" | "simple",
   "timeout_start": seconds, "timeout_stop": seconds}
start returns once the service is ready: for Type=notify when it sends READY=1 on
$NOTIFY_SOCKET (etcd does once it serves clients), within timeout_start, else the start
fails and the process is stopped, as systemd does. stop sends SIGTERM, then SIGKILL after
timeout_stop. /run/<name>.pid holds "<pid> <start time>" (clock ticks since boot), which
guards against a reused pid; the output goes to /var/log/<name>.log.
"""
import json
import os
import pwd
import select
import signal
import socket
import sys
import time

UNITS = "/usr/local/lib/runbook-lab/units"
STATE = "/run/runbook-lab"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def load(name):
    try:
        with open(f"{UNITS}/{name}.json") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def pid_file(name):
    return f"/run/{name}.pid"


def running(name):
    try:
        with open(pid_file(name)) as f:
            pid, recorded = f.read().split()
    except (OSError, ValueError):
        return None
    return int(pid) if start_time(int(pid)) == recorded else None


def environment_file(path):
    """KEY=VALUE lines as systemd reads an EnvironmentFile: comments, quotes, escapes."""
    env = {}
    if not path:
        return env
    optional = path.startswith("-")
    try:
        with open(path.lstrip("-")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        if optional:
            return env
        raise
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                out, escaped = [], False
                for c in value:
                    if escaped:
                        out.append(c)
                        escaped = False
                    elif c == "\\":
                        escaped = True
                    else:
                        out.append(c)
                value = "".join(out)
        env[key] = value
    return env


def failed_marker(name):
    return f"{STATE}/{name}.failed"


def mark_failed(name, failed):
    if failed:
        open(failed_marker(name), "w").close()
    elif os.path.exists(failed_marker(name)):
        os.remove(failed_marker(name))


def log_tail(name):
    try:
        with open(f"/var/log/{name}.log", errors="replace") as f:
            return "".join(f.readlines()[-15:])
    except OSError:
        return ""


def start(name, unit):
    if running(name):
        return 0
    os.makedirs(STATE, mode=0o755, exist_ok=True)
    user = pwd.getpwnam(unit["user"]) if unit.get("user") else None
    env = {"PATH": PATH, "LANG": "C.UTF-8", "HOME": user.pw_dir if user else "/root"}
    try:
        env.update(environment_file(unit.get("environment_file")))
    except OSError as e:
        print(f"{name}.service: failed to load environment file: {e}", file=sys.stderr)
        mark_failed(name, True)
        return 1
    notify = unit.get("type") == "notify"
    sock = None
    if notify:
        path = f"{STATE}/{name}.notify"
        if os.path.exists(path):
            os.remove(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        os.chmod(path, 0o666)
        env["NOTIFY_SOCKET"] = path
    log = os.open(f"/var/log/{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.write(log, f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} systemctl: starting {name}\n".encode())
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.chdir(unit.get("working_directory", "/"))
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.umask(0o022)
            if user:
                os.initgroups(user.pw_name, user.pw_gid)
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            os.execve(unit["exec"][0], unit["exec"], env)
        except BaseException as e:
            os.write(2, f"{name}: cannot run {unit['exec'][0]}: {e}\n".encode())
        os._exit(127)
    os.close(log)
    recorded = start_time(pid)
    with open(pid_file(name) + ".tmp", "w") as f:
        f.write(f"{pid} {recorded}\n")
    os.rename(pid_file(name) + ".tmp", pid_file(name))
    deadline = time.monotonic() + float(unit.get("timeout_start", 90))
    ready = not notify
    settle = time.monotonic() + 0.5
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            os.remove(pid_file(name))
            mark_failed(name, True)
            print(f"Job for {name}.service failed because the control process exited with error code.\n"
                  f"See /var/log/{name}.log:\n{log_tail(name)}", file=sys.stderr)
            return 1
        if ready and time.monotonic() >= settle:
            break
        if not ready:
            if time.monotonic() >= deadline:
                print(f"Job for {name}.service failed because a timeout was exceeded "
                      f"({unit.get('timeout_start', 90)}s without READY=1).", file=sys.stderr)
                stop(name, unit)
                mark_failed(name, True)
                return 1
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable and b"READY=1" in sock.recv(4096).split(b"\n"):
                ready = True
                settle = time.monotonic()
        else:
            time.sleep(0.1)
    mark_failed(name, False)
    return 0


def stop(name, unit):
    pid = running(name)
    if not pid:
        if os.path.exists(pid_file(name)):
            os.remove(pid_file(name))
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + float(unit.get("timeout_stop", 90))
    while running(name) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.1)
    if running(name):
        os.kill(pid, signal.SIGKILL)
        while running(name):
            reap(pid)
            time.sleep(0.1)
    os.remove(pid_file(name))
    return 0


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        print("usage: systemctl start|stop|restart|is-active|status UNIT...", file=sys.stderr)
        return 2
    action, units = args[0], [u.removesuffix(".service") for u in args[1:]]
    if action in ("daemon-reload", "reset-failed", "enable", "disable", "mask", "unmask"):
        return 0
    code = 0
    for name in units:
        unit = load(name)
        if action == "is-active":
            if unit and running(name):
                print("active")
            else:
                print("failed" if os.path.exists(failed_marker(name)) else "inactive")
                code = 3
            continue
        if unit is None:
            print(f"Unit {name}.service could not be found.", file=sys.stderr)
            code = 4 if action == "status" else 5
            continue
        if action == "start":
            code = start(name, unit) or code
        elif action == "stop":
            code = stop(name, unit) or code
        elif action == "restart":
            stop(name, unit)
            code = start(name, unit) or code
        elif action == "status":
            pid = running(name)
            state = "active (running)" if pid else (
                "failed" if os.path.exists(failed_marker(name)) else "inactive (dead)")
            print(f"● {name}.service - {unit.get('description', name)}\n   Active: {state}")
            if pid:
                print(f" Main PID: {pid}")
            print(log_tail(name), end="")
            code = 0 if pid else 3
        else:
            print(f"Unknown command verb {action}.", file=sys.stderr)
            return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
