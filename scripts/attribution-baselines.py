#!/usr/bin/env python3
"""Independent re-implementation of the simple attribution baselines.

Reads MITRE's STIX bundle directly (not kahu's compiled knowledge base) and
ranks the true group of every ATT&CK campaign attributed to exactly one live
group, with the plain IDF sum and the shared-item count, under the issue's
leakage protocol and under the "campaign removed only" upper bound. It exists
to cross-check the baseline rows `kahu-attack-eval` prints: the two programs
share no code, so agreement means the protocol is implemented as written.

    python3 scripts/attribution-baselines.py [path/to/enterprise-attack.json]

Default bundle: $KAHU_SHARED/attack/enterprise-attack.json, else
../shared/attack/enterprise-attack.json. Ties count against the true group.
"""
import json
import math
import os
import sys
from collections import defaultdict


def load(path):
    objs = json.load(open(path, encoding="utf-8"))["objects"]
    live = lambda o: not o.get("revoked") and not o.get("x_mitre_deprecated")
    by_id = {o["id"]: o for o in objs}
    kinds = defaultdict(set)
    for o in objs:
        if live(o):
            kinds[o["type"]].add(o["id"])
    rels = [o for o in objs if o["type"] == "relationship" and live(o)]
    return by_id, kinds, rels


def attack_id(o):
    for r in o.get("external_references", []):
        if r.get("source_name") == "mitre-attack":
            return r.get("external_id")
    return o["id"]


def sources(o):
    return frozenset(
        r["source_name"]
        for r in o.get("external_references", [])
        if r.get("source_name") != "mitre-attack"
    )


def main():
    shared = os.environ.get("KAHU_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"
    )
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(shared, "attack", "enterprise-attack.json")
    if not os.path.exists(path):
        sys.exit(f"bundle not found: {path} (set KAHU_SHARED or pass the path)")
    by_id, kinds, rels = load(path)
    groups, camps = kinds["intrusion-set"], kinds["campaign"]
    techs = kinds["attack-pattern"]
    softw = kinds["malware"] | kinds["tool"]
    attributed = defaultdict(set)
    uses = defaultdict(list)
    for r in rels:
        t = r["relationship_type"]
        if t == "attributed-to" and r["source_ref"] in camps and r["target_ref"] in groups:
            attributed[r["source_ref"]].add(r["target_ref"])
        elif t == "uses" and (r["target_ref"] in techs or r["target_ref"] in softw):
            uses[r["source_ref"]].append(r)
    cases = sorted(
        (c for c in camps if len(attributed[c]) == 1 and any(r["target_ref"] in techs for r in uses[c])),
        key=lambda c: attack_id(by_id[c]),
    )
    camps_of = defaultdict(list)
    for c in camps:
        for g in attributed[c]:
            camps_of[g].append(c)

    def ranks(with_software, filtered, count):
        out = []
        for c in cases:
            truth = next(iter(attributed[c]))
            csrc = set(sources(by_id[c]))
            for r in rels:
                if r["source_ref"] == c:
                    csrc |= sources(r)
            evidence = {r["target_ref"] for r in uses[c] if with_software or r["target_ref"] in techs}
            profile = {}
            for g in groups:
                items = set()
                for r in uses[g]:
                    s = sources(r)
                    if filtered and s and s <= csrc:
                        continue  # a group relation citing only the campaign's reports
                    items.add(r["target_ref"])
                for c2 in camps_of[g]:
                    if c2 != c:
                        items |= {r["target_ref"] for r in uses[c2]}
                if not with_software:
                    items &= techs
                profile[g] = items
            df = defaultdict(int)
            for g in groups:
                for t in profile[g]:
                    df[t] += 1
            n = len(groups)
            score = {
                g: sum(1.0 if count else math.log(n / df[t]) for t in evidence if t in profile[g])
                for g in groups
            }
            s0 = score[truth]
            out.append((attack_id(by_id[c]), 1 + sum(1 for g in groups if g != truth and score[g] >= s0)))
        return out

    def metrics(rs):
        n = len(rs)
        at = lambda k: sum(1 for _, r in rs if r <= k) / n
        return at(1), at(3), at(5), sum(1 / r for _, r in rs) / n

    print(f"{len(groups)} live groups, {len(cases)} campaigns attributed to exactly one group\n")
    print("| scorer | evidence | protocol | top-1 | top-3 | top-5 | MRR |\n|---|---|---|---|---|---|---|")
    per_case = {}
    for count in (True, False):
        for with_software in (False, True):
            for filtered in (True, False):
                rs = ranks(with_software, filtered, count)
                m = metrics(rs)
                name = "shared-item count" if count else "IDF sum"
                ev = "techniques + software" if with_software else "techniques only"
                proto = "issue protocol" if filtered else "upper bound: campaign removed only (leaks)"
                print(f"| {name} | {ev} | {proto} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.3f} |")
                if not count and with_software:
                    per_case[proto] = rs
    print("\nIDF, techniques + software, rank of the true group per campaign:\n")
    print("| campaign | issue protocol | campaign removed only |\n|---|---|---|")
    a, b = per_case["issue protocol"], per_case["upper bound: campaign removed only (leaks)"]
    for (c, r1), (_, r2) in zip(a, b):
        print(f"| {c} | {r1} | {r2} |")


if __name__ == "__main__":
    main()
