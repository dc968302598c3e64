#!/usr/bin/env python3
"""Drift checks, run by `make lint`:
1. every module under app/src/ssr and server/src is named in the README's Layout;
2. every repository path a comment or a document quotes exists.
Prints what drifted and exits 1; silent and 0 when nothing did."""
import pathlib, re, subprocess, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []

readme = (ROOT / "README.md").read_text()
layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
words = set(re.findall(r"[a-z_0-9]+", layout))
for base in ["app/src/ssr", "server/src"]:
    for path in sorted((ROOT / base).rglob("*.rs")):
        name = path.stem if path.stem not in ("mod", "tests") else None
        if path.stem == "mod":
            name = path.parent.name
        if name and name not in words:
            problems.append(f"README Layout does not name {path.relative_to(ROOT)}")

# Paths quoted in comments (source) and in documents.
TOP = r"(?:app|server|scripts|docs|end2end|packaging|style|public|\.ci|\.cargo)"
PATH = re.compile(rf"(?<![\w./-])({TOP}/[A-Za-z0-9_./-]*[A-Za-z0-9_/])")
tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
for rel in tracked:
    path = ROOT / rel
    if path.suffix not in {".rs", ".sh", ".py", ".ts", ".md", ".toml", ".yml", ".service"} and path.name != "Makefile":
        continue
    if not path.exists():
        continue
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if path.suffix in {".rs", ".ts"}:
            text = line.split("//", 1)[1] if "//" in line else ""
        elif path.suffix in {".sh", ".py", ".toml", ".yml", ".service"} or path.name == "Makefile":
            text = line.split("#", 1)[1] if "#" in line else ""
        else:
            text = line
        for found in PATH.findall(text):
            found = found.split("::")[0].rstrip(".")
            if "*" in found or "{" in found or found.startswith("public/pkg"):
                continue
            if not (ROOT / found).exists():
                problems.append(f"{rel}:{lineno}: {found} does not exist")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
