#!/usr/bin/env python3
"""A master's embedded etcd, started as origin's RunEtcd starts it
(pkg/cmd/server/etcd/etcdserver/run.go): read master-config.yaml afresh, and if it has an
etcdConfig section, become etcd: member `openshift.local`, data in `storageDirectory`,
clients served from `servingInfo` and peers from `peerServingInfo` (TLS when they name a
certFile, client certificates checked against their clientCA), advertised at `address` and
`peerAddress`. Without etcdConfig the master runs no etcd and idles, as the lab's other
master stand-ins do.

    embedded-etcd.py CONFIG

It replaces itself with etcd (exec, no fork), so the service's recorded pid is etcd's and
stopping the service stops etcd. The YAML is read with the standard library only: block
mappings, plain and quoted scalars, comments and one-line flow sequences, which is all an
etcdConfig holds; anything else inside etcdConfig is refused with its line.
"""

import os
import shlex
import sys

ETCD = @ETCD@
# The lab's own choice, as for its members: small enough that seeding leaves a v2
# snapshot (*.snap), which the migration reads. Origin keeps etcd's default.
SNAPSHOT_COUNT = @SNAPSHOT_COUNT@
MEMBER_NAME = "openshift.local"
IDLE = ["sleep", "2147483647"]
NULLS = ("", "~", "null", "Null", "NULL")


class ConfigError(Exception):
    pass


def log(line):
    print(f"embedded etcd: {line}", flush=True)


def quoted(text, lineno):
    """A quoted scalar at the start of `text`: (its value, the rest of the line)."""
    quote = text[0]
    value, i = [], 1
    while i < len(text):
        c = text[i]
        if quote == "'" and c == "'":
            if text[i + 1 : i + 2] == "'":
                value.append("'")
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        if quote == '"' and c == "\\":
            escaped = text[i + 1 : i + 2]
            simple = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", " ": " "}
            if escaped not in simple:
                raise ConfigError(f"line {lineno}: unsupported escape \\{escaped}")
            value.append(simple[escaped])
            i += 2
            continue
        if quote == '"' and c == '"':
            return "".join(value), text[i + 1 :]
        value.append(c)
        i += 1
    raise ConfigError(f"line {lineno}: unterminated {quote}-quoted scalar")


def without_comment(rest, lineno):
    """`rest` after a scalar must be nothing but spaces and a comment."""
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise ConfigError(f"line {lineno}: unexpected {rest!r} after a quoted scalar")


def plain(text):
    """A plain scalar: up to a ` #` comment, trailing spaces dropped."""
    for i, c in enumerate(text):
        if c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def scalar(text, lineno):
    """The value written after `key:` or `- `: a string, None for null, or a list."""
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    if text[0] in "'\"":
        value, rest = quoted(text, lineno)
        without_comment(rest, lineno)
        return value
    if text[0] in "|>&*!%@`{":
        if plain(text) == "{}":
            return {}
        raise ConfigError(
            f"line {lineno}: {text[0]!r} (block scalars, anchors, tags, flow mappings) "
            "is not read here; write etcdConfig in plain block style"
        )
    if text[0] == "[":
        body = plain(text)
        if not body.endswith("]") or "[" in body[1:] or "{" in body:
            raise ConfigError(f"line {lineno}: only one-line flow sequences of scalars are read")
        items = [item.strip() for item in body[1:-1].split(",")]
        return [scalar(item, lineno) for item in items if item]
    value = plain(text)
    return None if value in NULLS else value


def split_key(content, lineno):
    """`key: rest` -> (key, rest); the key may be quoted."""
    if content[0] in "'\"":
        key, rest = quoted(content, lineno)
        rest = rest.lstrip(" ")
        if not rest.startswith(":"):
            raise ConfigError(f"line {lineno}: expected ':' after the key {key!r}")
        return key, rest[1:]
    for i, c in enumerate(content):
        if c == ":" and (i + 1 == len(content) or content[i + 1] in " \t"):
            return content[:i].rstrip(), content[i + 1 :]
    raise ConfigError(f"line {lineno}: expected `key: value`, found {content!r}")


def block_lines(lines, first):
    """(indent, content, line number) of the lines after index `first` that belong to a
    top-level key: up to the next line that starts in column 0; blank and comment lines
    are dropped."""
    block = []
    for index in range(first + 1, len(lines)):
        line = lines[index]
        content = line.lstrip(" ")
        if not content.strip() or content.startswith("#"):
            continue
        if content.startswith("\t"):
            raise ConfigError(f"line {index + 1}: a tab in the indentation")
        indent = len(line) - len(content)
        if indent == 0:
            break
        block.append((indent, content.rstrip(), index + 1))
    return block


def node(block, i, indent):
    """The mapping or sequence whose entries start at `block[i]` with `indent`:
    (its value, the index after it)."""
    if block[i][1] == "-" or block[i][1].startswith("- "):
        return sequence(block, i, indent)
    return mapping(block, i, indent)


def sequence(block, i, indent):
    items = []
    while i < len(block) and block[i][0] == indent:
        _, content, lineno = block[i]
        if not (content == "-" or content.startswith("- ")):
            break
        item = content[1:].strip()
        if item and item[0] not in "'\"[" and split_key_or_none(item, lineno):
            raise ConfigError(f"line {lineno}: mappings inside sequences are not read here")
        items.append(scalar(item, lineno))
        i += 1
    return items, i


def split_key_or_none(content, lineno):
    try:
        return split_key(content, lineno)
    except ConfigError:
        return None


def mapping(block, i, indent):
    entries = {}
    while i < len(block):
        line_indent, content, lineno = block[i]
        if line_indent < indent:
            break
        if line_indent > indent:
            raise ConfigError(f"line {lineno}: unexpected indentation")
        if content == "-" or content.startswith("- "):
            raise ConfigError(f"line {lineno}: a sequence item where a key was expected")
        key, rest = split_key(content, lineno)
        if key in entries:
            raise ConfigError(f"line {lineno}: {key} is given twice")
        i += 1
        value = scalar(rest, lineno)
        nested = i < len(block) and (
            block[i][0] > indent
            or (block[i][0] == indent and (block[i][1] == "-" or block[i][1].startswith("- ")))
        )
        if value is None and nested:
            value, i = node(block, i, block[i][0])
        entries[key] = value
    return entries, i


def etcd_config(path):
    """The etcdConfig mapping of the master config at `path`, or None when it has none
    (no such key, or a null one)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().lstrip("\ufeff").splitlines()
    found, seen = None, False
    for index, line in enumerate(lines):
        if not line or line[0] in " \t#" or line.startswith(("---", "...")):
            continue
        parsed = split_key_or_none(line, index + 1)
        if not parsed or parsed[0] != "etcdConfig":
            continue
        if seen:
            raise ConfigError(f"line {index + 1}: etcdConfig is given twice")
        seen = True
        found = scalar(parsed[1], index + 1)
        block = block_lines(lines, index)
        if block and found is not None:
            raise ConfigError(f"line {block[0][2]}: unexpected indentation")
        if block:
            found, end = node(block, 0, block[0][0])
            if end != len(block):
                raise ConfigError(f"line {block[end][2]}: unexpected indentation")
    if found is not None and not isinstance(found, dict):
        raise ConfigError("etcdConfig is not a mapping")
    return found


def text(section, key, where, required=True):
    value = section.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(f"etcdConfig has no {where}{key}")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"etcdConfig's {where}{key} is not a string")
    return value


def section(config, key):
    value = config.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"etcdConfig has no {key} section")
    return value


def urls(addresses, tls):
    """origin's addressToURLs: host:port, comma separated, with the scheme of the TLS mode."""
    scheme = "https://" if tls else "http://"
    return ",".join(scheme + address.strip() for address in addresses.split(","))


def tls_args(info, where, prefix, resolve):
    """The TLS flags of one serving info (`prefix` is "" or "peer-"), and whether it has TLS:
    origin's UseTLS is a certFile being set, ClientCertAuth a clientCA being set."""
    cert = text(info, "certFile", where, required=False)
    if not cert:
        return [], False
    args = [
        f"--{prefix}cert-file",
        resolve(cert),
        f"--{prefix}key-file",
        resolve(text(info, "keyFile", where)),
    ]
    ca = text(info, "clientCA", where, required=False)
    if ca:
        args += [f"--{prefix}trusted-ca-file", resolve(ca), f"--{prefix}client-cert-auth=true"]
    return args, True


def etcd_args(config, base):
    """etcd's command line for etcdConfig; relative paths are the config file's, as origin
    resolves them."""
    resolve = lambda path: os.path.join(base, path)
    serving = section(config, "servingInfo")
    peer_serving = section(config, "peerServingInfo")
    client_tls, client_secure = tls_args(serving, "servingInfo.", "", resolve)
    peer_tls, peer_secure = tls_args(peer_serving, "peerServingInfo.", "peer-", resolve)
    advertise_peers = urls(text(config, "peerAddress", ""), peer_secure)
    return [
        ETCD,
        "--name",
        MEMBER_NAME,
        "--data-dir",
        resolve(text(config, "storageDirectory", "")),
        "--listen-client-urls",
        urls(text(serving, "bindAddress", "servingInfo."), client_secure),
        "--advertise-client-urls",
        urls(text(config, "address", ""), client_secure),
        "--listen-peer-urls",
        urls(text(peer_serving, "bindAddress", "peerServingInfo."), peer_secure),
        "--initial-advertise-peer-urls",
        advertise_peers,
        # InitialClusterFromName: this member at each of its peer URLs. A data dir that
        # already holds a member ignores it, so restarts keep the member.
        "--initial-cluster",
        ",".join(f"{MEMBER_NAME}={url}" for url in advertise_peers.split(",")),
        "--enable-v2=true",
        f"--snapshot-count={SNAPSHOT_COUNT}",
        *client_tls,
        *peer_tls,
    ]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    config_path = os.path.abspath(sys.argv[1])
    try:
        config = etcd_config(config_path)
        if config is None:
            log(f"{config_path} has no etcdConfig: the master runs without etcd")
            os.execvp(IDLE[0], IDLE)
        args = etcd_args(config, os.path.dirname(config_path))
    except (OSError, ConfigError) as error:
        log(f"cannot start from {config_path}: {error}")
        return 1
    log(f"starting {MEMBER_NAME} from {config_path}: {shlex.join(args)}")
    # etcd writes some files with 0666 less the umask: keep them owner-only. Origin's etcd
    # reads no ETCD_* variables, so none from whoever started the service may reach it.
    os.umask(0o077)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    os.execve(ETCD, args, env)


if __name__ == "__main__":
    sys.exit(main())
