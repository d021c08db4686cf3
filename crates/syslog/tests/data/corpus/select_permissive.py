#!/usr/bin/env python3
"""Copies the permissively licensed part of the shared Junos corpus here.

Usage: python3 select_permissive.py CORPUS_DIR  (the shared corpus directory,
the one holding junos_lines.txt, SOURCES.md and expected/).

Only sources under MIT, Apache-2.0, ISC or BSD licences are copied (see
README.md); a junos line is copied only when every source it came from is one
of them. Tool expectations are copied whole per tool, so row numbers (the
`tool:row` ids of ../parse/disagreements.tsv) stay those of the corpus.
"""
import json
import os
import sys

PERMISSIVE = {
    "napalm-logs",
    "logstash-patterns-core",
    "rust-syslog-rfc5424",
    "easypost-syslog-rfc5424-parser",
    "syslog-loose",
    "sc4s",
    "go-syslog:rfc5424",
    "go-syslog:rfc3164",
}
TOOLS = [
    "go-syslog",
    "napalm-logs",
    "syslog-loose",
    "rust-syslog-rfc5424",
    "easypost-syslog-rfc5424-parser",
    "logstash-patterns-core",
    "sc4s",
]

src = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))


def read_lines(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read().split("\n")


lines = read_lines("junos_lines.txt")
index = read_lines("junos_lines.index.tsv")
kept = []  # (corpus line number, line, index row)
for row in index[1:]:
    if not row:
        continue
    cols = row.split("\t")
    sources = cols[1].split(",")
    if all(s in PERMISSIVE for s in sources):
        n = int(cols[0])
        kept.append((n, lines[n - 1], cols))
os.makedirs(os.path.join(here, "crossparse"), exist_ok=True)
os.makedirs(os.path.join(here, "expected"), exist_ok=True)
with open(os.path.join(here, "junos_lines.txt"), "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for _, line, _ in kept))
with open(os.path.join(here, "junos_lines.index.tsv"), "w", encoding="utf-8") as f:
    f.write("line_no\tcorpus_line_no\tsources\tflags\ttag_guess\n")
    for k, (n, _, cols) in enumerate(kept, 1):
        f.write("\t".join([str(k), str(n)] + cols[1:]) + "\n")
wanted = {f"junos_lines.txt:{n}" for n, _, _ in kept}
with open(os.path.join(here, "crossparse", "junos_lines.jsonl"), "w", encoding="utf-8") as f:
    for row in read_lines("crossparse/junos_lines.jsonl"):
        if row.strip() and json.loads(row)["id"] in wanted:
            f.write(row + "\n")
with open(os.path.join(here, "edge_cases.jsonl"), "w", encoding="utf-8") as f:
    for row in read_lines("edge_cases.jsonl"):
        if row.strip() and json.loads(row)["source"] in PERMISSIVE:
            f.write(row + "\n")
for tool in TOOLS:
    rows = [r for r in read_lines(f"expected/{tool}.jsonl") if r.strip()]
    assert all(json.loads(r)["source"] in PERMISSIVE for r in rows), tool
    with open(os.path.join(here, "expected", f"{tool}.jsonl"), "w", encoding="utf-8") as f:
        f.write("".join(r + "\n" for r in rows))
print(f"{len(kept)} of {len(lines) - 1} junos lines copied")
