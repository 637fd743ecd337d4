#!/usr/bin/env python3
"""Sort kahu's own pack's above-low Mordor detections by what they stand on.

Mordor labels no set benign, so "no finding above low on benign activity"
(issue #16) is checked by review: each pack detection at medium or above is
put in one of four groups, using each set's `_metadata/*.yaml` ATT&CK labels:

- on a technique the set is labelled with (the attack itself),
- a log clear at the start of a recording (the lab's own preparation),
- in a set without metadata, or on a technique other than the set's label:
  listed with rule, file and count, for a person to read.

Usage (a debug build is enough; about 6 CPU-s):

    K=target/debug/kahu
    $K -q hunt ../shared/mordor/atomic -f jsonl --min-level medium -o /tmp/mordor-pack.jsonl
    bench/mordor-pack-review.py /tmp/mordor-pack.jsonl [../shared]

`hunt` without `--rules` runs kahu's bundled set (demo rules + pack); only
rules from `rules/` (the pack) are counted. Counts include collapsed repeats.
"""
import collections
import glob
import json
import os
import re
import sys

findings = sys.argv[1]
shared = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("KAHU_SHARED", "../shared")
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

meta = {}
for y in glob.glob(os.path.join(shared, "mordor/atomic/_metadata/*.yaml")):
    t = open(y, encoding="utf-8").read()
    techs = set(re.findall(r'technique:\s*"?(T\d+)', t))
    for a, b in re.findall(r'technique:\s*"?(T\d+)"?\s*\n\s*sub-technique:\s*"?(\d+)', t):
        techs.add(f"{a}.{b}")
    for link in re.findall(r"link:\s*(\S+\.(?:zip|tar\.gz))", t):
        meta[os.path.basename(link)] = techs

pack_ids = set()
for f in glob.glob(os.path.join(root, "rules/*.yml")):
    for line in open(f, encoding="utf-8"):
        if line.startswith("id: "):
            pack_ids.add(line[4:].strip())

CLEARS = {"Security Event Log Cleared", "Event Log Cleared (System Log Record)"}


def repeats(r):
    for k, v in r["fields"]:
        if k == "RepeatCount":
            try:
                return int(v)
            except ValueError:
                pass
    return 1


groups = collections.Counter()
detail = collections.defaultdict(collections.Counter)
for line in open(findings, encoding="utf-8"):
    r = json.loads(line)
    if r["rule_id"] not in pack_ids or r["level"] in ("informational", "low"):
        continue
    f = os.path.basename(r["provenance"]["file"])
    labels = meta.get(f)
    parents = {t.split(".")[0] for t in labels or ()}
    if labels is None:
        g = "set without metadata"
    elif any(t in labels or t.split(".")[0] in parents for t in r["techniques"]):
        g = "technique the set is labelled with"
    elif r["title"] in CLEARS:
        g = "log clear at the start of a recording"
    else:
        g = "other technique than the set's label"
    n = repeats(r)
    groups[g] += n
    detail[g][(r["title"], f)] += n

print(f"pack detections above low: {sum(groups.values())}")
for g, n in groups.most_common():
    print(f"  {n:4}  {g}")
for g in ("set without metadata", "other technique than the set's label"):
    if detail[g]:
        print(f"== {g} (read these)")
        for (title, f), n in sorted(detail[g].items(), key=lambda x: -x[1]):
            print(f"  {n:4}  {title} | {f}")
