#!/usr/bin/python3
"""Holds every packet of one netfilter queue for a fixed delay, then lets it go, in order.

    delay-packets.py --queue N --delay-ms MS

The packets come from an iptables rule such as
`iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num N`: the kernel parks each one and tells
the program that bound queue N (nfnetlink_queue, over a NETLINK_NETFILTER socket). This
program binds the queue, notes when each packet arrives, and gives it the verdict
NF_ACCEPT once MS milliseconds have passed; the kernel then sends it on. Packets leave in
the order they came, as from netem's delay on an interface. It asks only for the packets'
metadata (their id), never their payload.

A queue belongs to the network namespace the socket was made in: run this inside the
namespace whose packets it holds (`ip netns exec NETNS delay-packets.py ...`).

It prints `bound queue N` once the kernel has acknowledged the bind (add the iptables rule
only then: a queue nobody bound drops its packets), and on SIGTERM or SIGINT lets every
held packet go, unbinds, and prints one JSON line of counts:
  delayed         packets held and accepted
  held_max        the most packets held at once
  lost_messages   times the socket's buffer overflowed (the kernel's messages were lost;
                  the packets stay queued and the next verdict releases them)
  queue_dropped   the kernel's count of packets dropped because the queue was full
  user_dropped    the kernel's count of messages it could not deliver to this socket
"""

import argparse
import collections
import errno
import json
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SO_RCVBUFFORCE = 33

# Netlink message header (linux/netlink.h): length, type, flags, sequence, port id.
NLMSG_HDR = struct.Struct("=IHHII")
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4

# nfnetlink (linux/netfilter/nfnetlink.h): a message type is (subsystem << 8) | message,
# followed by nfgenmsg: family, version, resource id (here the queue number, big-endian).
NFNL_SUBSYS_QUEUE = 3
NFGENMSG = struct.Struct("!BBH")
NFNETLINK_V0 = 0

# nfnetlink_queue (linux/netfilter/nfnetlink_queue.h).
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT_BATCH = 3
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_META = 1
# Take a segmentation-offloaded packet whole, as an interface's qdisc would.
NFQA_CFG_F_GSO = 1 << 2
NF_ACCEPT = 1

# Packets the kernel may hold for this queue before it drops new ones (its default, 1024,
# is less than a busy link carries in 200 ms).
QUEUE_MAXLEN = 65536


def attribute(kind, payload):
    """One netlink attribute, padded to four bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def attributes(data):
    """(type, payload) of each attribute in data."""
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        if length < 4:
            break
        yield kind & 0x3FFF, data[at + 4 : at + length]
        at += (length + 3) & ~3


class Queue:
    """A bound nfnetlink_queue queue."""

    def __init__(self, number):
        self.number = number
        self.sequence = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        # Room for a burst of packet messages; root may pass the system's limit.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))

    def send(self, message, body, flags=0):
        self.sequence += 1
        kind = (NFNL_SUBSYS_QUEUE << 8) | message
        head = NFGENMSG.pack(socket.AF_UNSPEC, NFNETLINK_V0, self.number)
        length = NLMSG_HDR.size + len(head) + len(body)
        header = NLMSG_HDR.pack(length, kind, NLM_F_REQUEST | flags, self.sequence, 0)
        self.sock.send(header + head + body)
        return self.sequence

    def configure(self, body):
        """Sends a CONFIG message and waits for the kernel's acknowledgement."""
        sequence = self.send(NFQNL_MSG_CONFIG, body, NLM_F_ACK)
        while True:
            data = self.sock.recv(65536)
            for kind, seq, payload in messages(data):
                if kind == NLMSG_ERROR and seq == sequence:
                    (code,) = struct.unpack_from("=i", payload, 0)
                    if code != 0:
                        raise OSError(-code, f"queue {self.number}: {errno.errorcode.get(-code, code)}")
                    return

    def bind(self):
        self.configure(attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)))
        params = attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
        maxlen = attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN))
        gso = attribute(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_GSO)) + attribute(
            NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_GSO)
        )
        self.configure(params + maxlen + gso)

    def unbind(self):
        self.configure(attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_UNBIND, socket.AF_INET)))

    def accept_through(self, packet_id):
        """Accepts every packet of the queue whose id is packet_id or lower (ids rise in
        arrival order, so these are exactly the ones that came first)."""
        self.send(NFQNL_MSG_VERDICT_BATCH, attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id)))


def messages(data):
    """(type, sequence, payload) of each netlink message in data."""
    at = 0
    while at + NLMSG_HDR.size <= len(data):
        length, kind, _flags, sequence, _port = NLMSG_HDR.unpack_from(data, at)
        if length < NLMSG_HDR.size:
            break
        yield kind, sequence, data[at + NLMSG_HDR.size : at + length]
        at += (length + 3) & ~3


def packet_id(payload):
    """The id in a PACKET message's NFQA_PACKET_HDR (packet id, hardware protocol, hook)."""
    for kind, value in attributes(payload[NFGENMSG.size :]):
        if kind == NFQA_PACKET_HDR:
            return struct.unpack_from("!I", value, 0)[0]
    return None


def kernel_counts(number):
    """queue_dropped and user_dropped of this queue in /proc/net/netfilter/nfnetlink_queue
    (the file of this process's network namespace)."""
    try:
        with open("/proc/net/netfilter/nfnetlink_queue") as table:
            for line in table:
                fields = line.split()
                if fields and int(fields[0]) == number:
                    return int(fields[5]), int(fields[6])
    except OSError:
        pass
    return None, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    options = parser.parse_args()
    delay = options.delay_ms / 1000.0

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))

    queue = Queue(options.queue)
    queue.bind()
    queue.sock.setblocking(False)
    print(f"bound queue {options.queue}", flush=True)

    held = collections.deque()  # (time due, packet id), in arrival order
    delayed = held_max = lost_messages = 0
    while not stop:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
        try:
            readable, _, _ = select.select([queue.sock], [], [], timeout)
        except InterruptedError:
            continue
        if readable:
            while True:
                try:
                    data = queue.sock.recv(65536)
                except BlockingIOError:
                    break
                except OSError as error:
                    if error.errno == errno.ENOBUFS:
                        lost_messages += 1
                        continue
                    raise
                arrived = time.monotonic()
                for kind, _seq, payload in messages(data):
                    if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                        found = packet_id(payload)
                        if found is not None:
                            held.append((arrived + delay, found))
            held_max = max(held_max, len(held))
        now = time.monotonic()
        last = None
        while held and held[0][0] <= now:
            last = held.popleft()[1]
            delayed += 1
        if last is not None:
            queue.accept_through(last)

    # Let every held packet go now rather than have the kernel drop them with the queue.
    if held:
        delayed += len(held)
        queue.accept_through(held[-1][1])
    queue_dropped, user_dropped = kernel_counts(options.queue)
    queue.sock.setblocking(True)
    queue.unbind()
    counts = {
        "delayed": delayed,
        "held_max": held_max,
        "lost_messages": lost_messages,
        "queue_dropped": queue_dropped,
        "user_dropped": user_dropped,
    }
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
