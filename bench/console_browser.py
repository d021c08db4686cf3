#!/usr/bin/env python3
"""Time to page complete in headless Chromium for the console's main
screens, through WebDriver: Debian's chromedriver started here on a
loopback port (its own process group, killed by its id at the end), each
page loaded RUNS times, and the Navigation Timing entry of each load read:
`responseStart - startTime` (first byte) and `loadEventEnd - startTime`
(page complete: HTML, stylesheet, script, SVG charts laid out). Prints the
medians. Results: docs/benchmarks.md.

    bench/console_browser.py BASE_URL AUDITOR:PASSWORD ADMIN:PASSWORD RUNS PATH...

Each PATH is loaded signed in as the auditor, except those starting with
`admin:` (e.g. `admin:/users`), loaded as the administrator.
bench/console_search.sh runs it on its server.
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Driver:
    """chromedriver with one headless Chromium session (W3C WebDriver)."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    sys.exit("chromedriver did not listen within 20 s")
                time.sleep(0.05)
        self.profile = tempfile.TemporaryDirectory()
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-crash-reporter",
                "--window-size=1400,1000", f"--user-data-dir={self.profile.name}"]
        caps = {"capabilities": {"alwaysMatch": {
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.load(answer)["value"]

    def on(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def goto(self, url):
        self.on("POST", "/url", {"url": url})

    def find(self, css):
        return self.on("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def run(self, script):
        return self.on("POST", "/execute/sync", {"script": script, "args": []})

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


TIMING = """
const n = performance.getEntriesByType('navigation')[0];
return n && n.loadEventEnd > 0
  ? [n.responseStart - n.startTime, n.loadEventEnd - n.startTime, n.transferSize]
  : null;
"""


def sign_in(driver, base, user, password):
    driver.goto(f"{base}/login")
    driver.on("POST", f"/element/{driver.find('#username')}/value", {"text": user})
    driver.on("POST", f"/element/{driver.find('#password')}/value", {"text": password})
    driver.on("POST", f"/element/{driver.find('#sign-in')}/click", {})
    deadline = time.monotonic() + 30
    while "/login" in driver.on("GET", "/url"):
        if time.monotonic() > deadline:
            sys.exit(f"{user} could not sign in")
        time.sleep(0.05)


def measure(driver, url, runs):
    """Medians of (first byte ms, complete ms, bytes) over `runs` loads."""
    first, complete, size = [], [], []
    for _ in range(runs):
        driver.goto(url)
        deadline = time.monotonic() + 30
        while (timing := driver.run(TIMING)) is None:
            if time.monotonic() > deadline:
                sys.exit(f"{url}: no load event within 30 s")
            time.sleep(0.01)
        first.append(timing[0])
        complete.append(timing[1])
        size.append(timing[2])
    return statistics.median(first), statistics.median(complete), statistics.median(size)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    base = sys.argv[1].rstrip("/")
    auditor = sys.argv[2].split(":", 1)
    admin = sys.argv[3].split(":", 1)
    runs = int(sys.argv[4])
    paths = sys.argv[5:]
    print(f"{'page (Chromium, median of ' + str(runs) + ')':<44} {'first_byte_ms':>13} "
          f"{'complete_ms':>11} {'bytes':>8}")
    for role, (user, password) in (("auditor", auditor), ("admin", admin)):
        mine = [p for p in paths if p.startswith("admin:") == (role == "admin")]
        if not mine:
            continue
        driver = Driver()
        try:
            sign_in(driver, base, user, password)
            for path in mine:
                path = path.removeprefix("admin:")
                first, complete, size = measure(driver, base + path, runs)
                print(f"{path:<44} {first:>13.1f} {complete:>11.1f} {size:>8.0f}")
        finally:
            try:
                driver.on("DELETE", "")
            except Exception:
                pass
            driver.stop()


if __name__ == "__main__":
    main()
