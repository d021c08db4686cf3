#!/usr/bin/env python3
"""A small Junos NETCONF device for the tests, run by a private sshd as
`Subsystem netconf` (standard input and output are the SSH channel).

It says hello (base:1.0 and base:1.1, notifications), switches to chunked
framing when the client offers base:1.1 too (RFC 6242), and answers:

* <get-syslog-events>: an <rpc-reply><syslog-events> left open, one
  <syslog-event> per line of the --lines file, as a Junos device streams its
  syslog (seed 004); the reply stays open until the client closes;
* <create-subscription>: <ok/>, then one notification per line
  (<syslog-event>LINE</syslog-event>); with <startTime>, the lines are a
  replay followed by <replayComplete/>.

--mode makes it misbehave, for the bad-input tests: `malformed` (a good line,
then an element that is not XML), `unterminated` (a hello that never ends,
then the end of the stream), `huge-chunk` (a chunk header announcing
4294967296 bytes), `no-base` (a hello without any base capability).
Every request received is appended to --log when given. --repeat N streams
the lines N times over, many elements to a chunk (bench/netconf.sh).
--paced COUNT streams COUNT lines one chunk each, --interval seconds apart,
each ending in ` sent_ns=NANOSECONDS` (the wall clock when it was written),
for the latency figure of bench/netconf_figures.py.
"""

import argparse
import os
import sys
import time
from xml.sax.saxutils import escape

BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
EOM = b"]]>]]>"

out = sys.stdout.buffer
inp = sys.stdin.buffer


class Channel:
    def __init__(self):
        self.chunked = False
        self.pending = b""

    def send(self, text):
        data = text.encode()
        if self.chunked:
            out.write(b"\n#%d\n" % len(data) + data + b"\n##\n")
        else:
            out.write(data + EOM)
        out.flush()

    def _more(self):
        data = os.read(inp.fileno(), 65536)
        if not data:
            raise EOFError
        self.pending += data

    def receive(self):
        """One whole message from the client."""
        if not self.chunked:
            while EOM not in self.pending:
                self._more()
            message, self.pending = self.pending.split(EOM, 1)
            return message.decode()
        message = b""
        while True:
            while b"\n" not in self.pending[1:]:
                self._more()
            end = self.pending.index(b"\n", 1)
            header = self.pending[:end + 1]
            if header == b"\n##\n":
                self.pending = self.pending[end + 1:]
                return message.decode()
            size = int(header[2:-1])
            while len(self.pending) < end + 1 + size:
                self._more()
            message += self.pending[end + 1:end + 1 + size]
            self.pending = self.pending[end + 1 + size:]


def hello(capabilities):
    caps = "".join("<capability>%s</capability>" % c for c in capabilities)
    return ('<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
            "<capabilities>%s</capabilities><session-id>%d</session-id></hello>"
            % (caps, os.getpid()))


def wait_for_close():
    try:
        while os.read(inp.fileno(), 65536):
            pass
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", required=True)
    parser.add_argument("--mode", default="normal")
    parser.add_argument("--log")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--paced", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()
    with open(args.lines, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    channel = Channel()
    notification = "urn:ietf:params:netconf:capability:notification:1.0"
    junos = "http://xml.juniper.net/netconf/junos/1.0"

    if args.mode == "unterminated":
        out.write(hello([BASE_10, BASE_11]).encode()[:-10])
        out.flush()
        return
    if args.mode == "no-base":
        channel.send(hello([notification, junos]))
        wait_for_close()
        return
    channel.send(hello([BASE_10, BASE_11, notification, junos]))
    client = channel.receive()
    channel.chunked = BASE_11 in client
    if args.mode == "huge-chunk":
        out.write(b"\n#4294967296\n" + b"x" * 64)
        out.flush()
        wait_for_close()
        return
    try:
        request = channel.receive()
    except EOFError:
        return
    if args.log:
        with open(args.log, "a", encoding="utf-8") as log:
            log.write(request + "\n")
    message_id = request.split('message-id="', 1)[1].split('"', 1)[0]

    if "get-syslog-events" in request:
        reply = ('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
                 'message-id="%s"><syslog-events>\n' % message_id)
        events = ["<syslog-event>%s</syslog-event>\n" % escape(l) for l in lines]
        if args.mode == "malformed":
            events = events[:1] + ["<syslog-event>bad & <unclosed></syslog-event>\n"]
        if args.paced > 0 and channel.chunked:
            data = reply.encode()
            out.write(b"\n#%d\n" % len(data) + data)
            out.flush()
            start = time.monotonic()
            for i in range(args.paced):
                # Steady pacing: each line at its slot, not after the last write.
                delay = start + i * args.interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                line = "%s sent_ns=%d" % (lines[i % len(lines)], time.time_ns())
                data = ("<syslog-event>%s</syslog-event>\n" % escape(line)).encode()
                out.write(b"\n#%d\n" % len(data) + data)
                out.flush()
        elif args.repeat > 1:
            # Throughput: 1000 elements to a chunk (chunked framing only).
            batch = events * max(1, 1000 // len(events))
            data = "".join(batch).encode()
            out.write(b"\n#%d\n" % len(reply) + reply.encode())
            for _ in range(args.repeat * len(events) // len(batch)):
                out.write(b"\n#%d\n" % len(data) + data)
        elif channel.chunked:
            # One chunk per element, the reply's end never sent: it stays open.
            for piece in [reply] + events:
                data = piece.encode()
                out.write(b"\n#%d\n" % len(data) + data)
        else:
            out.write((reply + "".join(events)).encode())
        out.flush()
        wait_for_close()
        return

    if "create-subscription" in request:
        channel.send('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
                     'message-id="%s"><ok/></rpc-reply>' % message_id)
        for line in lines:
            channel.send(
                '<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0">'
                "<eventTime>2020-08-11T18:15:00Z</eventTime>"
                "<syslog-event>%s</syslog-event></notification>" % escape(line))
        if "startTime" in request:
            channel.send(
                '<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0">'
                "<eventTime>2020-08-11T18:15:00Z</eventTime><replayComplete/></notification>")
        wait_for_close()
        return

    channel.send('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
                 'message-id="%s"><rpc-error><error-type>protocol</error-type>'
                 "<error-tag>operation-not-supported</error-tag>"
                 "<error-severity>error</error-severity></rpc-error></rpc-reply>" % message_id)
    wait_for_close()


if __name__ == "__main__":
    try:
        main()
    except (EOFError, BrokenPipeError):
        pass
