"""The book: the nbdev-directive filter, and the built HTML (after `make book`)."""

import copy
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from nbdev_book import _kernels_over_unix_sockets, rewrite_notebook, tags_for  # noqa: E402

HTML = ROOT / "_build" / "html"


def test_directives_become_tags():
    flags = {"slow", "gpu"}
    assert tags_for(["hide"], flags) == ["remove-cell"]
    assert tags_for(["default_exp data"], flags) == ["remove-cell"]
    assert tags_for(["echo: false"], flags) == ["remove-input"]
    assert tags_for(["output: false"], flags) == ["remove-output"]
    assert tags_for(["eval: false"], flags) == ["skip-execution"]
    assert tags_for(["gpu"], flags) == ["skip-execution"]
    assert tags_for(["test_only"], flags) == ["skip-execution"]   # run by nbdev_test only
    assert tags_for(["export"], flags) == []


def test_the_books_kernels_talk_over_unix_sockets(monkeypatch):
    from myst_nb.core.execute import cache

    from smap_hybrid.batch import IPCKernelManager

    monkeypatch.setattr(cache, "single_nb_execution", cache.single_nb_execution)
    _kernels_over_unix_sockets()
    assert cache.single_nb_execution.keywords == {"kernel_manager_class": IPCKernelManager}


def test_rewrite_strips_every_directive():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": "#| export\n#|hide\nx = 1  # keep #| in strings? no\n",
            },
            {"cell_type": "markdown", "metadata": {}, "source": "#| not a directive in markdown"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    out = json.loads(rewrite_notebook(json.dumps(nb), {"slow"}))
    code = [c for c in out["cells"] if c["cell_type"] == "code"][1]
    assert not re.search(r"^\s*#\|", code["source"], re.M) and code["source"].startswith("x = 1")
    assert code["metadata"]["tags"] == ["remove-cell"]
    assert out["cells"][0]["metadata"]["tags"] == [
        "remove-cell"
    ]  # the show_doc patch cell is hidden
    assert out["cells"][-1]["source"] == "#| not a directive in markdown"


def test_a_tested_chapter_is_rendered_from_its_tests_outputs():
    "What _ext/nbtest.py keeps of nbdev_test's run is rendered only while the code is the same."
    from nbtest import record  # importing it changes nothing; run as a script it keeps

    def code(id_, source):
        return {"cell_type": "code", "id": id_, "metadata": {}, "outputs": [], "source": source}

    nb = {"cells": [code("a", "#| export\nx = 1"), code("b", "show_doc(f)"),
                    code("c", "#| test_only\nassert x == 1\nprint('checked')"),
                    {"cell_type": "markdown", "id": "d", "metadata": {}, "source": "text"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ran = copy.deepcopy(nb)           # as nbdev_test holds it: directives read off the source
    for c in ran["cells"][:3]:
        c["source"] = re.sub(r"^#\|.*\n", "", c["source"])
    ran["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                   "data": {"text/markdown": ["---\n", "### f"]}}]
    ran["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "checked"}]
    out = json.loads(rewrite_notebook(json.dumps(nb), {"slow"}, record(ran)))
    assert out["metadata"]["mystnb"] == {"execution_mode": "off"}   # not executed again
    cells = {c.get("id"): c for c in out["cells"]}
    assert cells["b"]["outputs"][0]["data"]["text/markdown"] == "<hr/>\n### f"
    assert cells["c"]["outputs"] == [] and cells["c"]["metadata"]["tags"] == ["skip-execution"]
    nb["cells"][0]["source"] = "#| export\nx = 2"                 # changed since the tests ran
    out = json.loads(rewrite_notebook(json.dumps(nb), {"slow"}, record(ran)))
    assert "mystnb" not in out["metadata"] and all(c.get("outputs") in ([], None)
                                                   for c in out["cells"])


def test_the_book_runs_plot_chapters_and_the_front_page_itself():
    "Interactive plots do not render from execnb's outputs; the front page shows later chapters'."
    from nbtest import book_runs_it

    def nb(path, kind):
        out = {"output_type": "display_data", "metadata": {}, "data": {kind: ""}}
        return {"path_": path, "cells": [{"cell_type": "code", "outputs": [out]}]}

    root = "nbs/00_index"
    assert book_runs_it(nb("nbs/00_index.ipynb", "text/plain"), root)
    assert book_runs_it(nb("nbs/06_twin.ipynb", "application/vnd.holoviews_load.v0+json"), root)
    assert not book_runs_it(nb("nbs/07_config.ipynb", "text/html"), root)


def _chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="module")
def html():
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: run `make book` (make test builds it before pytest)")
    return HTML


def test_a_page_per_chapter_without_directive_text(html):
    chapters = _chapters()
    assert len(chapters) >= 10
    for ch in chapters:
        page = html / f"{ch}.html"
        assert page.exists(), f"no page for chapter {ch}"
        text = re.sub(r"<[^>]+>", "", page.read_text())
        assert "#|" not in text, f"nbdev directive text visible in {page}"
        assert "fastcore.test import" not in text, f"a hidden cell is shown in {page}"


def test_show_doc_renders(html):
    page = (html / "nbs" / "01_smap_files.html").read_text()
    assert re.search(r"<h[1-6][^>]*>\s*read_granule", page), (
        "show_doc(read_granule) heading missing"
    )
    assert "Raw arrays of one granule for a window" in page
