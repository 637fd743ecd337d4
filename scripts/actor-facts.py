#!/usr/bin/env python3
"""Compile the actor facts kahu embeds: one entry per live ATT&CK group (G-id).

Facts only (ids, numbers, names, dates), never description prose:
  - CVE ids, ports and ATT&CK tool names named in the group's description,
    in its campaigns' descriptions and in the descriptions of its (and its
    campaigns') relationships (source `attack-description`); each such source
    keeps the ATT&CK citation names of its text, so an evaluation holding a
    report out can drop the facts that rest only on it;
  - victim countries, sectors, suspected sponsor and synonyms from the MISP
    galaxy threat-actor clusters (`misp-galaxy threat-actor`) and the Tidal
    groups clusters (`tidal`);
  - the date CISA added each named CVE to its KEV catalogue (`kev`).

A galaxy cluster is mapped to a group by its ATT&CK link first (a G-id in
its synonyms, `name-attribution` or an attack.mitre.org/groups/ reference;
Tidal's `group_attack_id`), and only when no cluster of that source links to
the group, by an exact (normalised) name or synonym match. A name-only match
is used only when the reviewed decisions (data/attack/actor-facts-name-review.tsv,
accept/reject with a reason each) accept it; every name-only match is written
to the review list with its decision (name-accepted, name-rejected, or
name-unreviewed for a new match nobody has decided yet, which is not used);
a name shared by several groups maps to none (listed as ambiguous).

Tools are kept only when they are rare (used or named by at most
RARE_TOOL_GROUPS groups): Mimikatz or PsExec in a description says no more
about the author than a common technique.

Usage: scripts/actor-facts.py [--shared DIR] [--attack F] [--threat-actor F]
           [--tidal F] [--kev F] [--out F] [--review F] [--decisions F]
Defaults read $KAHU_SHARED (or ../shared) and write
data/attack/actor-facts.json and data/attack/actor-facts-review.tsv.
The output is deterministic: the same inputs give byte-identical files.
"""
import argparse
import json
import os
import re
import sys

FORMAT = "kahu-actor-facts/1"
# (172 groups / 20), as the attribution's "rare software" threshold.
RARE_TOOL_GROUPS = 8
# Names shorter than this match ordinary words ("Net", "at", "Tor").
MIN_TOOL_NAME = 4

CVE_RE = re.compile(r"\bCVE-(\d{4})-(\d{4,7})\b", re.I)
# "port 443", "ports 9998 and 9999", "TCP port 8080", "TCP/UDP ports 53, 80 and 443"
PORT_RE = re.compile(r"\bports?\s+((?:\d{1,5})(?:\s*(?:,\s*and|,\s*or|,|and|or|/)\s*\d{1,5})*)\b", re.I)
CITATION_RE = re.compile(r"\(Citation:\s*([^)]+)\)")
GROUP_ID_RE = re.compile(r"^G\d{4}$")
LINK_RE = re.compile(r"attack\.mitre\.org/groups/(G\d{4})", re.I)

# Country names used by the MISP galaxy (cfr-suspected-victims) -> ISO 3166 alpha-2.
COUNTRIES = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "argentina": "AR", "armenia": "AM",
    "australia": "AU", "austria": "AT", "azerbaijan": "AZ", "bahrain": "BH", "bangladesh": "BD",
    "belarus": "BY", "belgium": "BE", "bhutan": "BT", "bolivia": "BO", "bosnia and herzegovina": "BA",
    "brazil": "BR", "brunei": "BN", "bulgaria": "BG", "cambodia": "KH", "canada": "CA", "chile": "CL",
    "china": "CN", "colombia": "CO", "croatia": "HR", "cyprus": "CY", "czech republic": "CZ",
    "czechia": "CZ", "denmark": "DK", "djibouti": "DJ", "ecuador": "EC", "egypt": "EG", "estonia": "EE",
    "ethiopia": "ET", "finland": "FI", "france": "FR", "georgia": "GE", "germany": "DE", "ghana": "GH",
    "greece": "GR", "guatemala": "GT", "hong kong": "HK", "hungary": "HU", "iceland": "IS", "india": "IN",
    "indonesia": "ID", "iran": "IR", "iraq": "IQ", "ireland": "IE", "israel": "IL", "italy": "IT",
    "japan": "JP", "jordan": "JO", "kazakhstan": "KZ", "kenya": "KE", "kosovo": "XK", "kuwait": "KW",
    "kyrgyzstan": "KG", "laos": "LA", "latvia": "LV", "lebanon": "LB", "libya": "LY", "lithuania": "LT",
    "luxembourg": "LU", "macau": "MO", "malaysia": "MY", "maldives": "MV", "mali": "ML", "malta": "MT",
    "mexico": "MX", "moldova": "MD", "mongolia": "MN", "montenegro": "ME", "morocco": "MA",
    "myanmar": "MM", "nepal": "NP", "netherlands": "NL", "the netherlands": "NL", "new zealand": "NZ",
    "nigeria": "NG", "north korea": "KP", "north macedonia": "MK", "macedonia": "MK", "norway": "NO",
    "oman": "OM", "pakistan": "PK", "palestine": "PS", "panama": "PA", "peru": "PE",
    "philippines": "PH", "the philippines": "PH", "poland": "PL", "portugal": "PT", "qatar": "QA",
    "romania": "RO", "russia": "RU", "russian federation": "RU", "saudi arabia": "SA", "serbia": "RS",
    "singapore": "SG", "slovakia": "SK", "slovenia": "SI", "south africa": "ZA", "south korea": "KR",
    "korea, republic of": "KR", "republic of korea": "KR", "spain": "ES", "sri lanka": "LK",
    "sudan": "SD", "sweden": "SE", "switzerland": "CH", "syria": "SY", "taiwan": "TW",
    "tajikistan": "TJ", "tanzania": "TZ", "thailand": "TH", "tunisia": "TN", "turkey": "TR",
    "turkmenistan": "TM", "uganda": "UG", "ukraine": "UA", "united arab emirates": "AE",
    "uae": "AE", "united kingdom": "GB", "uk": "GB", "united states": "US",
    "united states of america": "US", "usa": "US", "uruguay": "UY", "uzbekistan": "UZ",
    "venezuela": "VE", "vietnam": "VN", "viet nam": "VN", "yemen": "YE", "zimbabwe": "ZW",
}


def norm_name(s):
    return re.sub(r"[^a-z0-9]", "", s.lower())


def attack_id(obj):
    for r in obj.get("external_references", []):
        if r.get("source_name") == "mitre-attack" and r.get("external_id"):
            return r["external_id"]
    return None


def live(obj):
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def citations(text, refs=()):
    names = set(CITATION_RE.findall(text or ""))
    for r in refs:
        if r.get("source_name") and r.get("source_name") != "mitre-attack":
            names.add(r["source_name"])
    return sorted(n.strip() for n in names)


def ports_in(text):
    out = set()
    for m in PORT_RE.finditer(text or ""):
        for n in re.findall(r"\d{1,5}", m.group(1)):
            if 0 < int(n) <= 65535:
                out.add(int(n))
    return out


class Facts:
    """Facts per G-id and the sources they cite."""

    def __init__(self, groups):
        self.groups = groups  # G-id -> name
        self.actors = {g: {} for g in groups}
        self.sources = {}

    def source(self, key, kind, title, cites=()):
        self.sources[key] = {"kind": kind, "title": title, "citations": list(cites)}
        return key

    def add(self, gid, field, value, key):
        self.actors[gid].setdefault(field, {}).setdefault(value, set()).add(key)


def compile_attack(bundle, facts):
    objs = [o for o in bundle["objects"] if live(o)]
    by_ref = {o["id"]: o for o in objs}
    groups = {o["id"]: attack_id(o) for o in objs if o["type"] == "intrusion-set" and attack_id(o)}
    campaigns = {o["id"]: attack_id(o) for o in objs if o["type"] == "campaign" and attack_id(o)}
    software = {o["id"]: o for o in objs if o["type"] in ("malware", "tool") and attack_id(o)}
    rels = [o for o in objs if o["type"] == "relationship" and o["source_ref"] in by_ref and o["target_ref"] in by_ref]
    camp_groups = {}
    for r in rels:
        if r["relationship_type"] == "attributed-to" and r["source_ref"] in campaigns and r["target_ref"] in groups:
            camp_groups.setdefault(r["source_ref"], set()).add(groups[r["target_ref"]])
    # Which groups use each software through ATT&CK relations (directly or via a campaign).
    sw_users = {}
    for r in rels:
        if r["relationship_type"] != "uses" or r["target_ref"] not in software:
            continue
        sid = attack_id(software[r["target_ref"]])
        if r["source_ref"] in groups:
            sw_users.setdefault(sid, set()).add(groups[r["source_ref"]])
        for g in camp_groups.get(r["source_ref"], ()):
            sw_users.setdefault(sid, set()).add(g)
    # Tool names to look for: name and aliases of each software, longest first.
    names = []
    for o in software.values():
        for n in {o["name"], *o.get("x_mitre_aliases", [])}:
            if len(n) >= MIN_TOOL_NAME:
                names.append((n, attack_id(o), o["name"]))
    names.sort(key=lambda x: (-len(x[0]), x[0]))
    by_text = {}
    for n, sid, _ in names:
        by_text.setdefault(n, sid)
    # One alternation, longest name first, so a long name wins where two overlap.
    tool_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(re.escape(n) for n, _, _ in names) + r")(?![A-Za-z0-9])") if names else None

    # Texts per group: (source key, kind of object, title, text, citations).
    texts = []
    for ref, gid in groups.items():
        o = by_ref[ref]
        texts.append((gid, f"attack:{gid}", f"named in ATT&CK group {gid} description", o.get("description", ""),
                      citations(o.get("description"))))
    for ref, cid in campaigns.items():
        o = by_ref[ref]
        for gid in camp_groups.get(ref, ()):
            texts.append((gid, f"attack:{cid}", f"named in ATT&CK campaign {cid} ({o['name']}) description",
                          o.get("description", ""), citations(o.get("description"))))
    for r in rels:
        if r["relationship_type"] != "uses" or not r.get("description"):
            continue
        src, dst = r["source_ref"], r["target_ref"]
        owners = {groups[src]} if src in groups else set(camp_groups.get(src, ()))
        if not owners:
            continue
        a, b = attack_id(by_ref[src]), attack_id(by_ref[dst])
        for gid in owners:
            texts.append((gid, f"attack:{a}>{b}", f"named in ATT&CK relationship {a} uses {b} description",
                          r["description"], citations(r["description"], r.get("external_references", []))))

    named_tools = {}  # software id -> {gid: {source keys}}
    for gid, key, title, text, cites in sorted(texts, key=lambda t: (t[0], t[1])):
        found = []
        for m in CVE_RE.finditer(text):
            found.append(("cves", f"CVE-{m.group(1)}-{m.group(2)}"))
        for p in sorted(ports_in(text)):
            found.append(("ports", p))
        # Markdown links carry the software id: [China Chopper](https://attack.mitre.org/software/S0020)
        plain = re.sub(r"\(https?://[^)]*\)", "", text)
        plain = CITATION_RE.sub("", plain)
        for sid in sorted({by_text[m.group(1)] for m in tool_re.finditer(plain)} if tool_re else ()):
            named_tools.setdefault(sid, {}).setdefault(gid, set()).add((key, title, tuple(cites)))
        for field, value in found:
            facts.add(gid, field, value, facts.source(key, "attack-description", title, cites))
    for sid, per_group in named_tools.items():
        users = sw_users.get(sid, set()) | set(per_group)
        if len(users) > RARE_TOOL_GROUPS:
            continue
        for gid, keys in per_group.items():
            if gid in sw_users.get(sid, set()):
                continue  # already an ATT&CK software relation of the group: scored there
            for key, title, cites in keys:
                facts.add(gid, "tools", sid, facts.source(key, "attack-description", title, cites))


def cluster_links(value, live_groups, tidal=False):
    """G-ids a galaxy cluster links to explicitly."""
    meta = value.get("meta") or {}
    ids = set()
    if tidal:
        gid = meta.get("group_attack_id", "")
        if gid in live_groups:
            ids.add(gid)
        return ids
    for s in meta.get("synonyms", []):
        if GROUP_ID_RE.match(s) and s in live_groups:
            ids.add(s)
    for s in meta.get("name-attribution", []):
        g = s.split(":", 1)[0]
        if GROUP_ID_RE.match(g) and g in live_groups:
            ids.add(g)
    for r in meta.get("refs", []):
        m = LINK_RE.search(r)
        if m and m.group(1).upper() in live_groups:
            ids.add(m.group(1).upper())
    return ids


def read_decisions(path):
    """Reviewed name-only matches: {(source, gid, cluster): "accept"|"reject"}."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 5 or cols[3] not in ("accept", "reject") or not cols[4].strip():
                sys.exit(f"{path}:{n}: expected source, G-id, cluster, accept|reject, reason")
            out[(cols[0], cols[1], cols[2])] = cols[3]
    return out


def map_clusters(values, group_names, tidal=False, label="", decisions=None):
    """Map clusters to G-ids: explicit ATT&CK links first, then names
    (only those `decisions` accept).

    Returns ({gid: [(cluster, how)]}, review rows)."""
    decisions = decisions or {}
    live_groups = set(group_names)
    by_name = {}
    for gid, names in group_names.items():
        for n in names:
            by_name.setdefault(norm_name(n), set()).add(gid)
    linked, named, review = {}, {}, []
    for v in values:
        links = cluster_links(v, live_groups, tidal)
        for gid in links:
            linked.setdefault(gid, []).append(v)
        if links:
            continue
        meta = v.get("meta") or {}
        cands = set()
        matched = []
        for n in [v["value"], *meta.get("synonyms", [])]:
            hit = by_name.get(norm_name(n), set())
            if hit:
                matched.append(n)
            cands |= hit
        if len(cands) == 1:
            named.setdefault(next(iter(cands)), []).append((v, matched))
        elif len(cands) > 1:
            review.append(("ambiguous", ",".join(sorted(cands)), v["value"], ";".join(sorted(set(matched)))))
    out = {gid: [(v, "attack-link") for v in vs] for gid, vs in linked.items()}
    for gid, vs in named.items():
        if gid in out:
            # An explicit link wins: the name match is not used.
            for v, m in vs:
                review.append(("name-ignored-link-exists", gid, v["value"], ";".join(sorted(set(m)))))
            continue
        for v, m in vs:
            decision = decisions.get((label, gid, v["value"]))
            status = {"accept": "name-accepted", "reject": "name-rejected"}.get(decision, "name-unreviewed")
            review.append((status, gid, v["value"], ";".join(sorted(set(m)))))
            if decision == "accept":
                out.setdefault(gid, []).append((v, "name"))
    return out, review


def compile_galaxy(threat_actor, tidal, facts, group_aliases, decisions):
    review = []
    unknown_countries = set()
    for label, data, is_tidal in (("misp-galaxy threat-actor", threat_actor, False), ("tidal", tidal, True)):
        mapping, rows = map_clusters(data["values"], group_aliases, is_tidal, label, decisions)
        review += [(label, *r) for r in rows]
        prefix = "tidal" if is_tidal else "misp"
        for gid in sorted(mapping):
            for v, how in sorted(mapping[gid], key=lambda x: x[0]["uuid"]):
                meta = v.get("meta") or {}
                key = facts.source(f"{prefix}:{v['uuid']}", label,
                                   f"{'Tidal groups' if is_tidal else 'MISP galaxy threat-actor'} cluster {v['value']}"
                                   + (" (mapped by name, reviewed in data/attack/actor-facts-name-review.tsv)"
                                      if how == "name" else ""))
                if is_tidal:
                    countries = meta.get("observed_countries", [])
                    sectors = meta.get("target_categories", [])
                    sponsor = []
                else:
                    countries = []
                    for c in meta.get("cfr-suspected-victims", []):
                        code = COUNTRIES.get(c.strip().lower())
                        if code:
                            countries.append(code)
                        else:
                            unknown_countries.add(c)
                    sectors = meta.get("cfr-target-category", []) + meta.get("targeted-sector", [])
                    sponsor = [meta["cfr-suspected-state-sponsor"]] if meta.get("cfr-suspected-state-sponsor") else []
                for c in countries:
                    if re.fullmatch(r"[A-Z]{2}", c):
                        facts.add(gid, "countries", c, key)
                for s in sectors:
                    facts.add(gid, "sectors", s.strip().lower(), key)
                for s in sponsor:
                    facts.add(gid, "sponsor", s.strip(), key)
                if meta.get("country"):
                    facts.add(gid, "origin", meta["country"].strip().upper(), key)
                known = {norm_name(a) for a in group_aliases[gid]}
                for syn in [v["value"], *meta.get("synonyms", [])]:
                    if not GROUP_ID_RE.match(syn) and norm_name(syn) not in known and norm_name(syn):
                        facts.add(gid, "synonyms", syn.strip(), key)
    return review, unknown_countries


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = os.environ.get("KAHU_SHARED", "../shared")
    ap.add_argument("--shared", default=shared)
    ap.add_argument("--attack")
    ap.add_argument("--threat-actor")
    ap.add_argument("--tidal")
    ap.add_argument("--kev")
    ap.add_argument("--out", default="data/attack/actor-facts.json")
    ap.add_argument("--review", default="data/attack/actor-facts-review.tsv")
    # Beside the script, not the working directory: the decisions are part of the source.
    ap.add_argument("--decisions", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                                        "data", "attack", "actor-facts-name-review.tsv"))
    a = ap.parse_args()
    attack = a.attack or os.path.join(a.shared, "attack", "enterprise-attack.json")
    ta = a.threat_actor or os.path.join(a.shared, "intel", "misp-galaxy", "threat-actor.json")
    td = a.tidal or os.path.join(a.shared, "intel", "misp-galaxy", "tidal-groups.json")
    kv = a.kev or os.path.join(a.shared, "intel", "kev", "known_exploited_vulnerabilities.json")
    with open(attack, encoding="utf-8") as f:
        bundle = json.load(f)
    group_aliases = {}
    for o in bundle["objects"]:
        if o["type"] == "intrusion-set" and live(o) and attack_id(o):
            group_aliases[attack_id(o)] = sorted({o["name"], *o.get("aliases", [])})
    facts = Facts(group_aliases)
    compile_attack(bundle, facts)
    with open(ta, encoding="utf-8") as f:
        threat_actor = json.load(f)
    with open(td, encoding="utf-8") as f:
        tidal = json.load(f)
    decisions = read_decisions(a.decisions)
    review, unknown_countries = compile_galaxy(threat_actor, tidal, facts, group_aliases, decisions)
    with open(kv, encoding="utf-8") as f:
        kev = json.load(f)
    kev_dates = {v["cveID"].upper(): v["dateAdded"] for v in kev.get("vulnerabilities", [])}
    kev_title = f"CISA KEV catalogue {kev.get('catalogVersion', '')}".strip()

    actors = []
    counts = {}
    for gid in sorted(facts.actors):
        entry = {"id": gid}
        for field, values in sorted(facts.actors[gid].items()):
            items = []
            for value in sorted(values, key=lambda x: (str(type(x)), x)):
                item = {"value": value, "sources": sorted(values[value])}
                if field == "cves" and value in kev_dates:
                    item["kev_added"] = kev_dates[value]
                items.append(item)
            entry[field] = items
            counts[field] = counts.get(field, 0) + 1
        actors.append(entry)
    used = {k for e in actors for f, items in e.items() if f != "id" for i in items for k in i["sources"]}
    doc_head = {
        "format": FORMAT,
        "generated_by": "scripts/actor-facts.py",
        "attack_version": "18.1",
        "kev": kev_title,
        "rare_tool_groups": RARE_TOOL_GROUPS,
    }
    lines = ["{"]
    for k, v in doc_head.items():
        lines.append(f"{json.dumps(k)}:{json.dumps(v, sort_keys=True)},")
    lines.append('"sources":{')
    keys = sorted(used)
    for i, k in enumerate(keys):
        lines.append(f"{json.dumps(k)}:{json.dumps(facts.sources[k], sort_keys=True, ensure_ascii=False)}"
                     + ("," if i + 1 < len(keys) else ""))
    lines.append("},")
    lines.append('"actors":[')
    for i, e in enumerate(actors):
        lines.append(json.dumps(e, ensure_ascii=False) + ("," if i + 1 < len(actors) else ""))
    lines.append("]")
    lines.append("}")
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.review, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Galaxy clusters mapped to ATT&CK groups by name only (no ATT&CK link), for an analyst to check;"
                " name-accepted/name-rejected as decided in data/attack/actor-facts-name-review.tsv"
                " (name-unreviewed: not decided, not used).\n")
        f.write("# generated by scripts/actor-facts.py; columns: source, status, G-id(s), cluster, names that matched\n")
        for r in sorted(set(review)):
            f.write("\t".join(r) + "\n")
    print(f"{len(actors)} groups; groups with each fact: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; review rows {len(set(review))}"
          + "".join(f"; {st} {sum(1 for r in set(review) if r[1] == st)}"
                    for st in ("name-accepted", "name-rejected", "name-unreviewed"))
          + f"; unmapped country names {len(unknown_countries)}",
          file=sys.stderr)
    if unknown_countries:
        print("unmapped: " + ", ".join(sorted(unknown_countries)), file=sys.stderr)


if __name__ == "__main__":
    main()
