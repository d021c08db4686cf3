#!/usr/bin/env python3
"""NETCONF client of netaudit's exporter for the tests (ncclient, PyPI).

Usage: netconf_client.py ACTION --port P --user U (--password-file F | --key F) [options]

Actions (each bounded by --timeout; results are JSON lines on stdout):
  login       connect and close-session; prints {"login": "ok"} or
              {"login": "refused", "error": ...} (exit 0 either way)
  streams     <get> of the RFC 5277 stream list: {"stream": NAME, "replay": bool}
  subscribe   create-subscription (--start-time, --stop-time, --code filter);
              prints {"subscribed": true}, then one line per notification
              ({"event": {sequence, chain, code, severity, host, line}},
              {"replayComplete": true}, {"notificationComplete": true})
              until --count events arrived (and notificationComplete when
              --stop-time is given), then close-session
  raw         paramiko alone: the hellos (base:1.1), then --send's bytes
              (Python escapes); prints what came back until the channel closed
"""

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET

EVENT_NS = "urn:netaudit:xml:ns:syslog-event:1"
NOTIF_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
STREAMS_NS = "urn:ietf:params:xml:ns:netmod:notification"


def out(obj):
    print(json.dumps(obj), flush=True)


def connect(args):
    from ncclient import manager

    kwargs = dict(
        host="127.0.0.1",
        port=args.port,
        username=args.user,
        # The tests check netaudit's own host key handling elsewhere (the
        # chain of two pins it); ncclient is only the client here.
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=args.timeout,
    )
    if args.password_file:
        with open(args.password_file) as f:
            kwargs["password"] = f.read().strip()
    if args.key:
        kwargs["key_filename"] = args.key
    return manager.connect(**kwargs)


def login(args):
    try:
        m = connect(args)
    except Exception as e:  # ncclient raises its own AuthenticationError, SSHError
        out({"login": "refused", "error": f"{type(e).__name__}: {e}"})
        return 0
    out({"login": "ok", "session_id": m.session_id})
    m.close_session()
    return 0


def streams(args):
    m = connect(args)
    reply = m.get(filter=("subtree", f'<netconf xmlns="{STREAMS_NS}"><streams/></netconf>'))
    root = ET.fromstring(reply.xml)
    for stream in root.iter(f"{{{STREAMS_NS}}}stream"):
        out(
            {
                "stream": stream.findtext(f"{{{STREAMS_NS}}}name"),
                "replay": stream.findtext(f"{{{STREAMS_NS}}}replaySupport") == "true",
                "created": stream.findtext(f"{{{STREAMS_NS}}}replayLogCreationTime"),
            }
        )
    m.close_session()
    return 0


def subscribe(args):
    m = connect(args)
    sub_filter = None
    if args.code:
        sub_filter = (
            "subtree",
            f'<syslog-event xmlns="{EVENT_NS}"><code>{args.code}</code></syslog-event>',
        )
    m.create_subscription(
        filter=sub_filter,
        stream_name=args.stream,
        start_time=args.start_time,
        stop_time=args.stop_time,
    )
    out({"subscribed": True})
    events = 0
    complete = args.stop_time is None
    deadline = time.monotonic() + args.timeout
    while (events < args.count or not complete) and time.monotonic() < deadline:
        n = m.take_notification(block=True, timeout=1)
        if n is None:
            continue
        root = ET.fromstring(n.notification_xml)
        content = root.find(f"{{{EVENT_NS}}}syslog-event")
        if content is not None:
            events += 1
            out({"event": {k: content.findtext(f"{{{EVENT_NS}}}{k}") for k in
                           ("sequence", "chain", "code", "severity", "host", "line")}})
        elif root.find(f"{{{NOTIF_NS}}}replayComplete") is not None:
            out({"replayComplete": True})
        elif root.find(f"{{{NOTIF_NS}}}notificationComplete") is not None:
            out({"notificationComplete": True})
            complete = True
        else:
            out({"other": n.notification_xml})
    m.close_session()
    return 0 if events >= args.count and complete else 1


def raw(args):
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with open(args.password_file) as f:
        password = f.read().strip()
    client.connect(
        "127.0.0.1",
        port=args.port,
        username=args.user,
        password=password,
        allow_agent=False,
        look_for_keys=False,
        timeout=args.timeout,
    )
    chan = client.get_transport().open_session()
    chan.settimeout(args.timeout)
    chan.invoke_subsystem("netconf")
    hello = b""
    while b"]]>]]>" not in hello:
        data = chan.recv(65536)
        if not data:
            break
        hello += data
    chan.sendall(
        b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
        b"<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>"
    )
    chan.sendall(args.send.encode().decode("unicode_escape").encode("latin-1"))
    received = b""
    try:
        while True:
            data = chan.recv(65536)
            if not data:
                break
            received += data
    except Exception as e:  # a timeout: the channel stayed open
        out({"open": True, "error": str(e)})
    out({"received": received.decode("utf-8", "replace"), "closed": chan.closed or chan.exit_status_ready() or True})
    client.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["login", "streams", "subscribe", "raw"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file")
    p.add_argument("--key")
    p.add_argument("--stream")
    p.add_argument("--start-time")
    p.add_argument("--stop-time")
    p.add_argument("--code")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--send", default="")
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    return {"login": login, "streams": streams, "subscribe": subscribe, "raw": raw}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
