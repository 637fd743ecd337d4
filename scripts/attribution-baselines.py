#!/usr/bin/env python3
"""Independent re-implementation of the simple attribution baselines.

Reads MITRE's STIX bundle directly (not kahu's compiled knowledge base) and
ranks the true group of every ATT&CK campaign attributed to exactly one live
group, with the plain IDF sum and the shared-item count, under the issue's
leakage protocol and under the "campaign removed only" upper bound. It exists
to cross-check the baseline rows `kahu-attack-eval` prints: the two programs
share no code, so agreement means the protocol is implemented as written.

It also recomputes the report-level ("leave-one-report-out") plain-IDF
micro numbers (`--reports`; see `reports()` below and
docs/benchmarks/attribution.md); `--reports-only` skips the campaign table.

    python3 scripts/attribution-baselines.py [--reports|--reports-only] [path/to/enterprise-attack.json]

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


def source_key(ref):
    """A cited report: its URL with scheme and host lower-cased, `www.` and
    trailing slashes dropped; its source_name when it has no URL."""
    url = (ref.get("url") or "").strip()
    if not url:
        return ref["source_name"]
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min([i for i in (rest.find(c) for c in "/?#") if i >= 0] + [len(rest)])
    host = rest[:cut].lower()
    if host.startswith("www."):
        host = host[4:]
    tail = rest[cut:].rstrip("/")
    return f"{scheme.lower()}://{host}{tail}" if scheme else f"{host}{tail}"


def reports(path):
    """Leave-one-report-out, plain IDF overlap, micro averages.

    A group's items: its own `uses` relations to techniques/software plus
    those of campaigns attributed to it. Case: (group, report) where the
    report is cited for >= N of the group's items; query: those items.
    The report is removed from every relation; a relation survives only if
    it still cites something (or never cited anything).
    """
    objs = json.load(open(path, encoding="utf-8"))["objects"]
    live = {o["id"]: o for o in objs if not o.get("revoked") and not o.get("x_mitre_deprecated")}
    ids = {k: attack_id(o) for k, o in live.items()}
    kind = {k: o["type"] for k, o in live.items() if attack_id(o) != o["id"]}
    techs = {k for k, t in kind.items() if t == "attack-pattern"}
    items_ok = techs | {k for k, t in kind.items() if t in ("malware", "tool")}
    groups = sorted(k for k, t in kind.items() if t == "intrusion-set")
    camps = {k for k, t in kind.items() if t == "campaign"}
    cites = lambda r: frozenset(
        source_key(e) for e in r.get("external_references", []) if e.get("source_name") != "mitre-attack"
    )
    attributed = defaultdict(list)  # campaign -> [(group, sources)]
    paths = defaultdict(list)  # group -> [(item, sources, attribution sources or None)]
    rels = [o for o in objs if o["type"] == "relationship" and o["id"] and o.get("source_ref") in live
            and o.get("target_ref") in live and not o.get("revoked") and not o.get("x_mitre_deprecated")]
    for r in rels:
        if r["relationship_type"] == "attributed-to" and r["source_ref"] in camps and r["target_ref"] in kind \
                and kind[r["target_ref"]] == "intrusion-set":
            attributed[r["source_ref"]].append((r["target_ref"], cites(r)))
    for r in rels:
        if r["relationship_type"] != "uses" or r["target_ref"] not in items_ok:
            continue
        s, t = r["source_ref"], r["target_ref"]
        if kind.get(s) == "intrusion-set":
            paths[s].append((t, cites(r), None))
        elif s in camps:
            for g, a in attributed[s]:
                paths[g].append((t, cites(r), a))
    ok = lambda srcs, gone: not srcs or bool(srcs - {gone})

    def profile(g, gone):
        return {t for t, srcs, a in paths[g] if ok(srcs, gone) and (a is None or ok(a, gone))}

    base = {g: profile(g, None) for g in groups}
    citing = defaultdict(set)
    for g in groups:
        for t, srcs, a in paths[g]:
            for s in srcs | (a or frozenset()):
                citing[s].add(g)
    n = len(groups)
    results = []  # (techniques_only, size, rank)
    for techniques_only in (False, True):
        by_source = defaultdict(list)
        for g in groups:
            sup = defaultdict(set)
            for t, srcs, a in paths[g]:
                if techniques_only and t not in techs:
                    continue
                for s in srcs:
                    sup[s].add(t)
            for s, q in sup.items():
                if len(q) >= 3:
                    by_source[s].append((g, q))
        for s, cases in by_source.items():
            prof = dict(base)
            for g in citing[s]:
                prof[g] = profile(g, s)
            df = defaultdict(int)
            for g in groups:
                for t in prof[g]:
                    df[t] += 1
            for truth, q in cases:
                score = {g: sum(math.log(n / df[t]) for t in sorted(q) if t in prof[g]) for g in groups}
                # Same tolerance as kahu's rank_in: equal sums in another order tie.
                floor = score[truth] - 1e-9 * max(abs(score[truth]), 1.0)
                rank = 1 + sum(1 for g in groups if g != truth and score[g] >= floor)
                results.append((techniques_only, len(q), truth, rank))
    print(f"\nReport-level (leave-one-report-out), plain IDF overlap, micro, {n} groups:\n")
    print("| N | evidence | cases | groups | top-1 | top-3 | top-5 | MRR |\n|---|---|---|---|---|---|---|---|")
    for size in (3, 5, 8):
        for techniques_only in (False, True):
            rs = [(g, r) for t, k, g, r in results if t == techniques_only and k >= size]
            at = lambda k: sum(1 for _, r in rs if r <= k) / len(rs)
            ev = "techniques only" if techniques_only else "techniques + software"
            print(f"| {size} | {ev} | {len(rs)} | {len({g for g, _ in rs})} | {at(1):.3f} | {at(3):.3f} | "
                  f"{at(5):.3f} | {sum(1 / r for _, r in rs) / len(rs):.3f} |")


def main():
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    sys.argv = [sys.argv[0]] + [a for a in sys.argv[1:] if not a.startswith("--")]
    shared = os.environ.get("KAHU_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"
    )
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(shared, "attack", "enterprise-attack.json")
    if not os.path.exists(path):
        sys.exit(f"bundle not found: {path} (set KAHU_SHARED or pass the path)")
    if "--reports-only" in flags:
        reports(path)
        return
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
    if "--reports" in flags:
        reports(path)


if __name__ == "__main__":
    main()
