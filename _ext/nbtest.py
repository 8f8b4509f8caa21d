"""`nbdev_test`, keeping what it executed for the book: ``python _ext/nbtest.py [its options]``.

The same function, options and report as the ``nbdev_test`` command (`nbdev.test.nbdev_test`),
and one thing more: every notebook that passes is kept, with the outputs its cells produced, in
``_build/executed/NAME.json`` (each code cell's source and outputs, by cell id). The book build
(``nbdev_book.py``) renders a chapter from that record instead of running it a second time when
its code is the chapter's code, cell for cell; otherwise it executes the chapter as before. A
notebook that fails is not kept, and neither are two kinds the book must run itself
(`book_runs_it`): a chapter with interactive plots (holoviews/bokeh: execnb's output bundles
carry their mime types but not a page that draws them) and the front page, which shows what
later chapters made (the experiment batch of chapter 19) and so is run after them."""

import json
from pathlib import Path

import execnb.shell
import yaml
from nbdev.test import nbdev_test

from smap_hybrid.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "executed"
PLOTS = ("holoviews", "bokeh")


def book_runs_it(nb, root=None) -> bool:
    "Whether the book must execute this notebook itself: interactive plots, or the front page."
    root = root or yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
    kinds = {k for c in nb["cells"] for o in c.get("outputs", []) for k in o.get("data", {})}
    return (Path(nb["path_"]).stem == Path(root).stem
            or any(p in k for k in kinds for p in PLOTS))


def record(nb) -> dict:
    "id -> (source, outputs) of an executed notebook's code cells."
    return {c["id"]: {"source": c["source"], "outputs": list(c.get("outputs", []))}
            for c in nb["cells"] if c["cell_type"] == "code"}


def keep(nb, folder=EXECUTED) -> Path:
    "Write `nb`'s record to folder/NAME.json, atomically (NAME: the notebook's file name)."
    path = folder / (Path(nb["path_"]).stem + ".json")
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(record(nb), default=list))   # fastcore L lists
    return path


_run_all = execnb.shell.CaptureShell.run_all


def _run_all_and_keep(self, nb, *args, **kwargs):
    res = _run_all(self, nb, *args, **kwargs)  # raises on the first failing cell: nothing kept
    if not book_runs_it(nb):
        keep(nb)
    return res


if __name__ == "__main__":
    execnb.shell.CaptureShell.run_all = _run_all_and_keep   # the workers are forked: they see it
    nbdev_test()
