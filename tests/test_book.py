"""The book: the nbdev-directive filter, and the built HTML (after `make book`)."""

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
