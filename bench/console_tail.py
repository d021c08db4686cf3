#!/usr/bin/env python3
"""Live tail latency: from an event sent over TCP syslog to its arrival on
the console's server-sent event stream (`/tail/stream`, what the browser's
EventSource reads), for COUNT events sent at a steady RATE per second.
Prints the median, p90, p99 and the worst, in milliseconds. Results:
docs/benchmarks.md.

    bench/console_tail.py BASE_URL USER PASSWORD SYSLOG_HOST:PORT [COUNT] [RATE]

BASE_URL is a running `netaudit serve` (e.g. http://127.0.0.1:8514) with a
TCP syslog listener at SYSLOG_HOST:PORT and USER an auditor. Bounded: it
stops 60 s after the last event was sent and counts what never arrived.
bench/console_search.sh runs it on its server.
"""

import http.client
import json
import re
import socket
import statistics
import sys
import threading
import time
import urllib.parse

HOST = "tailbench"


def sign_in(base, user, password):
    """The session cookie, through the login form as a browser sends it."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", "/login")
    form = conn.getresponse()
    page = form.read().decode()
    login_cookie = form.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, "username": user, "password": password})
    conn.request("POST", "/login", body, {
        "Cookie": login_cookie,
        "Content-Type": "application/x-www-form-urlencoded",
    })
    answer = conn.getresponse()
    answer.read()
    for name, value in answer.getheaders():
        if name.lower() == "set-cookie" and value.startswith("netaudit_console="):
            return value.split(";")[0]
    sys.exit(f"sign-in refused: HTTP {answer.status}")


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    base, user, password, syslog = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else 50.0
    syslog_host, syslog_port = syslog.rsplit(":", 1)
    cookie = sign_in(base, user, password)
    url = urllib.parse.urlsplit(base)
    stream = http.client.HTTPConnection(url.hostname, url.port, timeout=90)
    stream.request("GET", f"/tail/stream?host={HOST}", headers={
        "Cookie": cookie,
        "Accept": "text/event-stream",
    })
    events = stream.getresponse()
    if events.status != 200:
        sys.exit(f"/tail/stream: HTTP {events.status}")
    # The stream starts after the last event stored when it opened.
    sent = [None] * count
    arrived = [None] * count
    run = f"{time.time_ns()}"

    def send():
        sender = socket.create_connection((syslog_host, int(syslog_port)), timeout=30)
        sender.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            line = f"<134>1 - {HOST} bench - TAIL_BENCH - tail bench {run} {i}\n"
            sent[i] = time.perf_counter()
            sender.sendall(line.encode())
        sender.close()

    sender = threading.Thread(target=send)
    sender.start()
    pattern = re.compile(rf"tail bench {run} (\d+)")
    received = 0
    deadline = time.monotonic() + count / rate + 60
    while received < count and time.monotonic() < deadline:
        line = events.readline()
        if not line:
            break
        now = time.perf_counter()
        if not line.startswith(b"data:"):
            continue
        message = json.loads(line[5:]).get("message") or ""
        found = pattern.search(message)
        if found:
            i = int(found.group(1))
            if arrived[i] is None:
                arrived[i] = now
                received += 1
    sender.join()
    stream.close()
    latencies = sorted(
        (a - s) * 1000 for s, a in zip(sent, arrived) if s is not None and a is not None
    )
    if not latencies:
        sys.exit("no event arrived")
    print(f"live tail, TCP syslog send -> SSE arrival, {len(latencies)} of {count} events "
          f"at {rate:g}/s:")
    print(f"  median {statistics.median(latencies):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {latencies[-1]:.1f} ms; "
          f"{count - len(latencies)} never arrived")


if __name__ == "__main__":
    main()
