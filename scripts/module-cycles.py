#!/usr/bin/env python3
"""Finds circles of imports between the top-level modules of a crate.

Usage: scripts/module-cycles.py CRATE_SRC_DIR...

A module depends on another when its files name it: `use crate::other::…`, `crate::other::…` in
code, or a name the crate root re-exports from it (`pub use other::Name;` then `crate::Name`).
Submodules count as their top-level module, and `#[cfg(test)]` blocks are left out (tests may
look anywhere). Prints every module's dependencies and each circle found; exits 1 if any.
"""

import re
import sys
from pathlib import Path


def strip_tests(text):
    """Drops `#[cfg(test)] mod … { … }` blocks by brace matching."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def check(src):
    root = src / "lib.rs"
    lib = strip_comments(root.read_text())
    modules = re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", lib, re.M)
    exported = {}  # name re-exported at the root -> the module it comes from
    for module, names in re.findall(r"pub use (\w+)::\{?([^;]*?)\}?;", lib, re.S):
        for name in re.split(r"[,\s]+", names):
            name = name.split(" as ")[-1].strip()
            if name and name not in ("self",):
                exported[name] = module
    deps = {}
    for module in modules:
        files = [src / f"{module}.rs"] + sorted((src / module).rglob("*.rs"))
        text = "".join(strip_comments(strip_tests(f.read_text())) for f in files if f.exists())
        found = set()
        for path in re.findall(r"crate::((?:\w+::)*\w+|\{[^}]*\})", text):
            for part in re.findall(r"\w+", path.split("::")[0] if not path.startswith("{") else path):
                target = part if part in modules else exported.get(part)
                if target and target != module:
                    found.add(target)
        # `use crate::{a::X, Y}` lists: every first segment inside the braces
        for group in re.findall(r"use crate::\{(.*?)\};", text, re.S):
            for item in re.split(r",(?![^{]*\})", group):
                first = item.strip().split("::")[0].strip("{} \n")
                target = first if first in modules else exported.get(first)
                if target and target != module:
                    found.add(target)
        deps[module] = found
    cycles, seen = [], set()

    def walk(node, stack):
        if node in stack:
            cycle = stack[stack.index(node) :] + [node]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
            return
        for nxt in sorted(deps.get(node, ())):
            walk(nxt, stack + [node])

    for module in modules:
        walk(module, [])
    return deps, cycles


def main():
    failed = False
    for arg in sys.argv[1:]:
        deps, cycles = check(Path(arg))
        print(f"# {arg}")
        for module, found in sorted(deps.items()):
            print(f"  {module} -> {', '.join(sorted(found)) or '-'}")
        for cycle in cycles:
            print(f"  CIRCLE: {' -> '.join(cycle)}")
            failed = True
        if not cycles:
            print("  no circle")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
