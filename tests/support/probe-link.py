#!/usr/bin/python3
"""Measures a path's round-trip time and loss with ICMP echo, as ping(8) does.

    probe-link.py ADDRESS [--count N] [--interval-ms MS] [--wait-ms MS]

Sends N echo requests to ADDRESS (IPv4), one every MS milliseconds, each with its own
sequence number and send time, over a raw ICMP socket (root), and waits up to --wait-ms
after the last one for late replies. Prints one JSON line:
  sent, received, loss (the fraction of requests with no reply),
  rtt_ms: min, median, p90, max of the replies' round-trip times.
It runs in the network namespace it is started in (`runbook lab exec`, `ip netns exec`).
"""

import argparse
import json
import os
import select
import socket
import struct
import time

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident, sequence):
    payload = b"runbook-probe".ljust(32, b".")
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, sequence)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum(header + payload), ident, sequence) + payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=10)
    parser.add_argument("--wait-ms", type=float, default=2000)
    options = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    sent_at = {}
    rtts = []

    def receive(until):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([sock], [], [], left)
            if not readable:
                return
            data, (source, _) = sock.recvfrom(2048)
            now = time.monotonic()
            header_length = (data[0] & 0x0F) * 4
            kind, _code, _sum, their_ident, sequence = struct.unpack_from("!BBHHH", data, header_length)
            if kind == ICMP_ECHO_REPLY and their_ident == ident and source == options.address:
                started = sent_at.pop(sequence, None)
                if started is not None:
                    rtts.append((now - started) * 1000.0)

    interval = options.interval_ms / 1000.0
    next_send = time.monotonic()
    for sequence in range(options.count):
        receive(next_send)
        sent_at[sequence] = time.monotonic()
        sock.sendto(echo_request(ident, sequence), (options.address, 0))
        next_send += interval
    receive(time.monotonic() + options.wait_ms / 1000.0)

    rtts.sort()

    def at(fraction):
        return round(rtts[min(len(rtts) - 1, int(fraction * len(rtts)))], 2) if rtts else None

    print(
        json.dumps(
            {
                "sent": options.count,
                "received": len(rtts),
                "loss": round(1 - len(rtts) / options.count, 4),
                "rtt_ms": {"min": at(0), "median": at(0.5), "p90": at(0.9), "max": at(1.0)},
            }
        )
    )


if __name__ == "__main__":
    main()
