"""The code a reader sees stays within 100 columns, so the book's cells and the package read
without sideways scrolling: ruff checks the notebooks (`make lint`); this checks what nbdev
generates from them, every line but the `__all__` list that nbdev itself wraps at 120 columns."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_lines_within_100_columns():
    long = []
    for f in sorted((ROOT / "smap_hybrid").glob("*.py")):
        if f.name == "_modidx.py":
            continue
        text = f.read_text()
        block = re.search(r"^__all__ = \[.*?\]$", text, re.S | re.M)
        skip = (
            set(range(text[: block.start()].count("\n"), text[: block.end()].count("\n") + 1))
            if block
            else set()
        )
        long += [
            f"{f.name}:{i + 1}"
            for i, line in enumerate(text.splitlines())
            if len(line) > 100 and i not in skip
        ]
    assert not long, f"lines over 100 columns (edit the notebook, then nbdev_export): {long}"


def test_modules_stay_small():
    "No module over 350 lines (the notebooks keep a module to one role)."
    sizes = {
        f.name: len(f.read_text().splitlines())
        for f in (ROOT / "smap_hybrid").glob("*.py")
        if f.name != "_modidx.py"
    }
    assert max(sizes.values()) <= 350, sizes


def test_reduced_precision_enters_in_one_place():
    "bf16 autocast is entered by the network's body alone (chapter 10): no statistic runs in it."
    uses = {
        f"{f.name}:{i + 1}"
        for f in (ROOT / "smap_hybrid").glob("*.py")
        if f.name != "_modidx.py"
        for i, line in enumerate(f.read_text().splitlines())
        if "torch.autocast(" in line or "autocast_for(" in line and "def " not in line
    }
    assert {u.split(":")[0] for u in uses} == {"model.py"}, uses
    assert len(uses) == 4, uses  # autocast_for's autocast, the head's exit, forward, step


def test_modules_import_only_earlier_chapters():
    "The package reads in the book's order: a module imports only modules of earlier chapters."
    toc = re.findall(r"file: nbs/(\S+)", (ROOT / "_toc.yml").read_text())
    chapter, imports = {}, {}
    for f in (ROOT / "smap_hybrid").glob("*.py"):
        text = f.read_text()
        nb = re.search(r"^# %% \.\./nbs/(\S+)\.ipynb", text, re.M)
        if nb:
            chapter[f.stem] = toc.index(nb.group(1))
            imports[f.stem] = set(re.findall(r"^from (?:smap_hybrid)?\.(\w+) import", text, re.M))
    assert {"cube", "forcing", "reconstruct", "cli"} <= set(chapter), sorted(chapter)
    later = sorted(f"{m} imports {i}" for m, used in imports.items() for i in used
                   if i in chapter and chapter[i] > chapter[m])
    assert not later, later
