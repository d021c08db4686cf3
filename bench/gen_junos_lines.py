#!/usr/bin/env python3
"""Deterministic realistic Junos structured-data syslog lines for the benchmark.

Writes COUNT lines to OUT, each framed for `loggen -R OUT -d` as
"LEN MSG" where LEN counts MSG plus the LF that ends the line (loggen sends
the line with its LF, so the LF is inside the octet count). Messages are
RFC 5424 Junos lines (RT_FLOW sessions, UI_* management events, SSHD logins)
of about 260 bytes on average, varied but reproducible (fixed seed).

usage: gen_junos_lines.py COUNT OUT
"""
import random
import sys


def main() -> None:
    count, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(20261123)
    hosts = [f"srx-fw{i:02d}" for i in range(1, 9)] + [f"mx-core{i}" for i in range(1, 5)]
    users = ["admin", "noc", "regress", "jdoe", "netops"]
    total = 0
    with open(out, "w", encoding="ascii") as f:
        for i in range(count):
            host = rng.choice(hosts)
            ms = i % 1000
            ts = f"2026-11-23T{(i // 3600000) % 24:02d}:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{ms:03d}Z"
            kind = rng.random()
            if kind < 0.7:
                src = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                dst = f"198.51.100.{rng.randrange(1, 255)}"
                sport, dport = rng.randrange(1024, 65535), rng.choice([22, 53, 80, 123, 443, 8443])
                tag = rng.choice(["RT_FLOW_SESSION_CREATE", "RT_FLOW_SESSION_CLOSE"])
                msg = (
                    f"<14>1 {ts} {host} RT_FLOW - {tag} [junos@2636.1.1.1.2.40 "
                    f'source-address="{src}" source-port="{sport}" destination-address="{dst}" '
                    f'destination-port="{dport}" protocol-id="6" policy-name="trust-to-untrust"] '
                    f"session created"
                )
            elif kind < 0.9:
                user = rng.choice(users)
                msg = (
                    f"<189>1 {ts} {host} mgd {rng.randrange(1000, 60000)} UI_COMMIT "
                    f'[junos@2636.1.1.1.2.18 username="{user}" command="commit" '
                    f'message="change {i} by {user} via netconf"] '
                    f"User '{user}' requested 'commit' operation (comment: change {i} by {user} via netconf)"
                )
            else:
                user = rng.choice(users)
                addr = f"192.0.2.{rng.randrange(1, 255)}"
                msg = (
                    f"<38>1 {ts} {host} sshd {rng.randrange(1000, 60000)} SSHD_LOGIN_FAILED "
                    f'[junos@2636.1.1.1.2.18 username="{user}" source-address="{addr}"] '
                    f"Login failed for user '{user}' from host '{addr}' after too many attempts"
                )
            total += len(msg)
            f.write(f"{len(msg) + 1} {msg}\n")
    print(f"{count} lines, {total / max(count, 1):.0f} bytes per message on average", file=sys.stderr)


if __name__ == "__main__":
    main()
