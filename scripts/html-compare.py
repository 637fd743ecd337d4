#!/usr/bin/env python3
"""Compare two renderings of a kahu HTML report (or any HTML page).

    scripts/html-compare.py BEFORE.html AFTER.html [--ignore REGEX ...]

Used to check that a change to how the report is produced (templates,
escaping) changes nothing a reader sees. Both files are parsed (stdlib
html.parser, character references decoded), then compared as:

  text   the visible text, one line per block element, white space
         collapsed as a browser does (style content is compared apart);
  links  every href, in order;
  ids    every id, in order;
  svg    each <svg> element and all inside it: tags, attributes (sorted),
         text;
  tree   every element in order with its attributes (sorted), for what the
         four above do not cover (classes, titles, styles).

White space between tags is not significant where a browser would not
render it (between block elements, inside tables and SVG); white space
inside inline content is, collapsed to one space. Quoting and the form of
character references (&lt; or &#60;) are not compared: the parsed values
are. The generation time in the report header is masked by default;
--ignore adds patterns replaced by <masked> in text and attributes.

Exit status: 0 identical, 1 differences (printed as unified diffs per view),
2 usage error. Standard library only.
"""

import argparse
import difflib
import re
import sys
from html.parser import HTMLParser

# Elements whose boundaries end a line of visible text (block-level HTML,
# table structure, and SVG containers whose children are laid out apart).
BLOCK = {
    "html", "head", "body", "header", "nav", "main", "section", "div", "p",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tr",
    "td", "th", "details", "summary", "figure", "figcaption", "title",
    "style", "meta", "br", "svg", "g", "text", "rect", "line", "circle",
    "path", "defs", "marker",
}
VOID = {"meta", "br", "img", "input", "link", "hr"}
# The report header's generation time (minute precision, "on … UTC").
DEFAULT_IGNORE = [r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC · assessment schema"]


class Views(HTMLParser):
    """Collects the comparison views of one document."""

    def __init__(self, ignore):
        super().__init__(convert_charrefs=True)
        self.ignore = [re.compile(p) for p in ignore]
        self.lines = [""]
        self.links, self.ids, self.tree, self.svg, self.style = [], [], [], [], []
        self.stack = []
        self.svg_depth = 0

    def mask(self, s):
        for p in self.ignore:
            s = p.sub("<masked>", s)
        return s

    def attrs(self, attrs):
        return " ".join(f'{k}="{self.mask(v or "")}"' for k, v in sorted(attrs))

    def newline(self):
        self.lines[-1] = self.lines[-1].strip()
        if self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if "href" in d:
            self.links.append(d["href"])
        if "id" in d:
            self.ids.append(d["id"])
        desc = f"<{tag} {self.attrs(attrs)}>".replace(" >", ">")
        self.tree.append(desc)
        if tag == "svg":
            self.svg.append([])
            self.svg_depth += 1
        if self.svg_depth:
            self.svg[-1].append(desc)
        if tag in BLOCK:
            self.newline()
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # Pop to the matching open tag (html.parser does not repair trees).
        while self.stack:
            top = self.stack.pop()
            if top == tag:
                break
        self.tree.append(f"</{tag}>")
        if self.svg_depth:
            self.svg[-1].append(f"</{tag}>")
            if tag == "svg":
                self.svg_depth -= 1
        if tag in BLOCK:
            self.newline()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style.append(re.sub(r"\s+", " ", data).strip())
            return
        text = self.mask(re.sub(r"\s+", " ", data))
        if self.svg_depth and text.strip():
            self.svg[-1].append(text.strip())
        if text.strip():
            self.tree.append("text: " + text.strip())
        # Collapse runs of white space across text nodes, as a browser does.
        if self.lines[-1].endswith(" ") and text.startswith(" "):
            text = text[1:]
        if self.lines[-1] == "" and text.startswith(" "):
            text = text.lstrip()
        self.lines[-1] += text

    def views(self):
        self.newline()
        return {
            "text": [line for line in self.lines if line],
            "links": self.links,
            "ids": self.ids,
            "svg": [line for svg in self.svg for line in svg + ["----"]],
            "style": self.style,
            "tree": self.tree,
        }


def load(path, ignore):
    p = Views(ignore)
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p.views()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--ignore", action="append", default=[], metavar="REGEX")
    ap.add_argument("--context", type=int, default=1, help="diff context lines")
    ap.add_argument("--max-lines", type=int, default=200, help="diff lines shown per view")
    args = ap.parse_args()
    ignore = DEFAULT_IGNORE + args.ignore
    a, b = load(args.before, ignore), load(args.after, ignore)
    differ = False
    for view in a:
        if a[view] == b[view]:
            print(f"{view:6} identical ({len(a[view])} lines)")
            continue
        differ = True
        diff = list(difflib.unified_diff(a[view], b[view], args.before, args.after,
                                         n=args.context, lineterm=""))
        changed = sum(1 for d in diff if d[:1] in "+-" and d[:3] not in ("+++", "---"))
        print(f"{view:6} DIFFERENT ({len(a[view])} vs {len(b[view])} lines, {changed} changed)")
        for line in diff[: args.max_lines]:
            print("   " + line)
        if len(diff) > args.max_lines:
            print(f"   … {len(diff) - args.max_lines} more diff lines")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
