#!/usr/bin/env python3
"""The device's side of device-initiated NETCONF for the tests.

It connects to netaudit's call-home port on loopback, sends the Junos
outbound-ssh header (MSG-ID, MSG-VER, DEVICE-ID, and HOST-KEY with its
HMAC-SHA1 under --secret-file when given), then hands the socket to OpenSSH's
sshd in inetd mode (`sshd -i`, standard input and output are the socket) with
the tests' private configuration, whose `Subsystem netconf` is the Junos
simulator: netaudit is the SSH client from there on, as with Junos
`system services outbound-ssh`. With --protocol rfc8071 no header is sent
(RFC 8071 call home). --raw sends the given bytes instead of a header
(Python escapes such as \\r\\n are read) and waits for netaudit to close.
"""

import argparse
import hashlib
import hmac
import socket
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--sshd-config", help="sshd_config for `sshd -i`")
parser.add_argument("--protocol", choices=["outbound-ssh", "rfc8071"], default="outbound-ssh")
parser.add_argument("--device-id")
parser.add_argument("--host-key", help="the sshd's public host key file (HOST-KEY)")
parser.add_argument("--secret-file", help="the outbound-ssh secret (HMAC key)")
parser.add_argument("--raw", help="send these bytes instead of a header, then wait")
args = parser.parse_args()

sock = socket.create_connection(("127.0.0.1", args.port), timeout=30)
sock.settimeout(None)

if args.raw is not None:
    # netaudit refuses it and closes (maybe before all is sent); read until
    # then, bounded by its header timeout.
    sock.settimeout(60)
    try:
        sock.sendall(args.raw.encode("latin-1").decode("unicode_escape").encode("latin-1"))
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sys.exit(0)

if args.protocol == "outbound-ssh":
    header = "MSG-ID: DEVICE-CONN-INFO\r\nMSG-VER: V1\r\nDEVICE-ID: %s\r\n" % args.device_id
    if args.secret_file:
        with open(args.host_key) as f:
            key = " ".join(f.read().split()[:2])
        with open(args.secret_file, "rb") as f:
            secret = f.read().rstrip(b"\r\n")
        mac = hmac.new(secret, key.encode(), hashlib.sha1).hexdigest()
        header += "HOST-KEY: %s\r\nHMAC: %s\r\n" % (key, mac)
    sock.sendall(header.encode())

fd = sock.fileno()
with open(args.sshd_config + ".inetd.log", "ab") as log:
    result = subprocess.run(
        ["/usr/sbin/sshd", "-i", "-e", "-f", args.sshd_config], stdin=fd, stdout=fd, stderr=log
    )
sys.exit(result.returncode)
