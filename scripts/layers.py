#!/usr/bin/env python3
"""Fails when a layer of app/src/ssr names a layer above it (see app/src/ssr/mod.rs),
when a layer below the doors names Leptos, axum or a request, when `audit` or
`store` reads the clock, or when two files of app/src/ssr import each other in a
cycle. Run by `make lint`."""
import pathlib, re, sys

SSR = pathlib.Path(__file__).resolve().parent.parent / "app/src/ssr"
RANK = {"clock": 1, "metrics": 1, "memory": 1, "crypto": 1, "formats": 1,
        "db": 2, "auth": 2, "audit": 3, "store": 4, "state": 5, "access": 6}
WEB = re.compile(r"\b(leptos|leptos_axum|axum|http)::|use_context|\bParts\b")
CLOCKLESS = {"audit", "store"}

def layer(path):
    return path.relative_to(SSR).parts[0].removesuffix(".rs")

def code(path):
    """The file without comments and without its #[cfg(test)] module."""
    text = re.sub(r"//[^\n]*", "", path.read_text())
    return text.split("#[cfg(test)]")[0]

def named(text):
    """Every `ssr::a::b…` path the file names, the `use crate::ssr::{…}` groups expanded."""
    paths = re.findall(r"\bssr::((?:[a-z_]+::)*[a-z_]+)", text)
    for group in re.findall(r"\bssr::\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}", text):
        depth, item = 0, ""
        for ch in group + ",":
            if ch == "{": depth += 1
            elif ch == "}": depth -= 1
            elif ch == "," and depth == 0:
                paths.append(re.sub(r"[\s{].*", "", item.strip().rstrip(":")).rstrip(":")); item = ""; continue
            item += ch
    return [p for p in paths if p]

def file_of(path_named):
    """The file a named path lives in (as deep as the folders go)."""
    parts, here = path_named.split("::"), SSR
    for i, part in enumerate(parts):
        if (here / part).is_dir(): here = here / part
        elif (here / f"{part}.rs").exists(): return here / f"{part}.rs"
        else: break
    return here / "mod.rs" if here.is_dir() else here

problems, edges = [], {}
files = sorted(SSR.rglob("*.rs"))
for path in files:
    if path == SSR / "mod.rs" or path.name == "tests.rs": continue
    own, text, rel = layer(path), code(path), path.relative_to(SSR)
    for target in named(text):
        other = target.split("::")[0]
        if other in RANK and RANK[other] > RANK[own]:
            problems.append(f"{rel}: the {own} layer names `{target}`, a layer above it")
        dest = file_of(target)
        if dest != path: edges.setdefault(path, set()).add(dest)
    if RANK[own] < RANK["state"] and WEB.search(text):
        problems.append(f"{rel}: the {own} layer names Leptos, axum or a request ({WEB.search(text).group(0)})")
    if own in CLOCKLESS and re.search(r"\bclock::|Instant::now|SystemTime::now", text):
        problems.append(f"{rel}: the {own} layer reads the clock; take the time as a parameter")
if re.search(r"crate::(api|pages|components)\b", "".join(code(p) for p in files)):
    problems.append("app/src/ssr names crate::api, crate::pages or crate::components (the layers above it)")

def cycle_from(start):
    stack, seen = [(start, [start])], set()
    while stack:
        node, trail = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start: return trail + [start]
            if nxt not in seen: seen.add(nxt); stack.append((nxt, trail + [nxt]))
    return None

reported = set()
for path in files:
    found = cycle_from(path)
    if found and frozenset(found) not in reported:
        reported.add(frozenset(found))
        problems.append("import cycle: " + " → ".join(str(p.relative_to(SSR)) for p in found))

for p in problems: print(p)
arrows = sum(len(v) for v in edges.values())
print(f"layers: {len(files)} files, {arrows} import arrows, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
