#!/usr/bin/env python3
"""Check that every crate kahu's build only runs on the build machine is at
opt-level 0 in the dev profile (Cargo.toml, `[profile.dev.package]`).

Proc macros, the crates they are written with (syn, quote…) and build-script
helpers (cc, prost-build…) are "build-time only": reachable from kahu's
crates only through a proc-macro crate or a build dependency. Cargo would
build them at opt-level 0 (`build-override`), but `[profile.dev.package."*"]`
takes precedence, so each is listed by name; this keeps the list in step
with Cargo.lock. Prints the lines to add or remove and exits 1 when they
differ. Run from anywhere: scripts/build-time-crates.py
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def host_triple():
    out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    return re.search(r"^host: (\S+)", out, re.M).group(1)


def build_time_only(meta):
    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])

    def proc_macro(i):
        return any("proc-macro" in t["kind"] for t in pkgs[i]["targets"])

    target, host, seen = set(), set(), set()
    stack = [(m, "target") for m in members]
    while stack:
        i, ctx = stack.pop()
        if (i, ctx) in seen:
            continue
        seen.add((i, ctx))
        if ctx == "target" and proc_macro(i):
            ctx = "host"
        (target if ctx == "target" else host).add(i)
        for d in nodes[i]["deps"]:
            for k in d["dep_kinds"]:
                if k["kind"] == "build":
                    stack.append((d["pkg"], "host"))
                elif k["kind"] == "dev":
                    if i in members:
                        stack.append((d["pkg"], ctx))
                else:
                    stack.append((d["pkg"], ctx))
    return sorted({pkgs[i]["name"] for i in host - target})


def listed():
    text = open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8").read()
    # The `[profile.dev.package]` table: up to the next table header.
    block = re.split(r"^\[", text.split("\n[profile.dev.package]\n", 1)[1], maxsplit=1, flags=re.M)[0]
    return sorted(re.findall(r"^([A-Za-z0-9_-]+) = \{ opt-level = 0 \}$", block, re.M))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features",
             "--filter-platform", host_triple()],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
    )
    want, have = set(build_time_only(meta)), set(listed())
    if want == have:
        print(f"build-time-only crates: {len(want)}, all at opt-level 0 in the dev profile")
        return 0
    for n in sorted(want - have):
        print(f"add to [profile.dev.package] in Cargo.toml: {n} = {{ opt-level = 0 }}")
    for n in sorted(have - want):
        print(f"remove from [profile.dev.package] in Cargo.toml (no longer build-time only): {n}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
