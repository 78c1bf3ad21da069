#!/usr/bin/env python3
"""A stand-in master's writes: every 100 ms one write to etcd, as an API server keeps
writing, through master-config.yaml's etcdClientInfo (its URLs in order, its client
certificate), with the storage backend the config selects: v2 (`PUT /v2/keys/...`) for
etcd2, v3 (`POST /v3/kv/put`) for etcd3. It logs, with UTC millisecond timestamps, when it
starts and stops, its first successful write, and every write that failed or took over a
second, so an outage and the stalls after it can be read from the master's side.

    master-writer.py CONFIG BACKEND
"""

import base64
import http.client
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse
from datetime import datetime, timezone

KEY = "/runbook-lab/master-writes"
INTERVAL = 0.1
TIMEOUT = 5.0
SLOW = 1.0


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def log(line):
    print(f"writer: {line}", flush=True)


def client_info(config):
    """The etcdClientInfo section of the master config: ca, certFile, keyFile, urls."""
    info, urls, inside, in_urls = {}, [], False, False
    with open(config) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line.startswith(" "):
                inside = line.startswith("etcdClientInfo:")
                in_urls = False
                continue
            if not inside:
                continue
            text = line.strip()
            if text.startswith("- ") and in_urls:
                urls.append(text[2:].strip().strip('"'))
                continue
            name, _, value = text.partition(":")
            in_urls = name == "urls"
            if value.strip():
                info[name] = value.strip().strip('"')
    base = os.path.dirname(os.path.abspath(config))
    path = lambda name: os.path.join(base, info[name])
    return path("ca"), path("certFile"), path("keyFile"), urls


class Writer:
    def __init__(self, config, backend):
        ca, cert, key, self.urls = client_info(config)
        self.api = "v3" if backend == "etcd3" else "v2"
        self.context = ssl.create_default_context(cafile=ca)
        self.context.load_cert_chain(cert, key)
        self.current = 0
        self.connection = None

    def connect(self):
        url = urllib.parse.urlsplit(self.urls[self.current])
        self.connection = http.client.HTTPSConnection(
            url.hostname, url.port, context=self.context, timeout=TIMEOUT
        )

    def request(self, value):
        if self.api == "v3":
            body = json.dumps(
                {
                    "key": base64.b64encode(KEY.encode()).decode(),
                    "value": base64.b64encode(value.encode()).decode(),
                }
            )
            path, headers = "/v3/kv/put", {"Content-Type": "application/json"}
        else:
            body = urllib.parse.urlencode({"value": value})
            path = "/v2/keys" + KEY
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        method = "POST" if self.api == "v3" else "PUT"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read()
        if response.status not in (200, 201) or b'"error"' in text[:200]:
            raise RuntimeError(f"HTTP {response.status}: {text[:200]!r}")

    def write(self, value):
        """One write, trying each URL once from the current one; the last error if all fail."""
        error = None
        for _ in self.urls:
            try:
                if self.connection is None:
                    self.connect()
                self.request(value)
                return None
            except Exception as e:  # any failure: the next URL, as a client balancer does
                error = f"{self.urls[self.current]}: {e}"
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                self.current = (self.current + 1) % len(self.urls)
        return error


def main():
    config, backend = sys.argv[1], sys.argv[2]
    writer = Writer(config, backend)

    def stop(*_):
        log(f"stop at={now()}")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"start at={now()} api={writer.api} urls={','.join(writer.urls)}")
    first = True
    while True:
        started, at = time.monotonic(), now()
        error = writer.write(at)
        took = time.monotonic() - started
        ms = int(took * 1000)
        if error is not None:
            log(f"failed at={at} api={writer.api} ms={ms} error={error}")
        else:
            if first:
                log(f"first ok at={now()} api={writer.api} ms={ms}")
                first = False
            if took > SLOW:
                log(f"slow at={at} api={writer.api} ms={ms}")
        time.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
