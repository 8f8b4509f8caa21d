"""Render nbdev notebooks in Jupyter Book 1.x.

nbdev drives export and testing with ``#|`` directives in code cells. Jupyter Book knows
nothing of them, so this Sphinx extension rewrites each notebook as Sphinx reads it:

* every ``#|`` line is removed from the cell source, so no directive text reaches a page;
* ``hide`` and ``default_exp`` become the ``remove-cell`` tag (the cell still runs);
* ``echo: false`` becomes ``remove-input``; ``output: false`` becomes ``remove-output``;
* ``eval: false`` and the test flags in settings.ini (``slow``, ``gpu``) become
  ``skip-execution``, exactly as ``nbdev_test`` skips them;
* ``test_only`` (a long test with nothing to show) also becomes ``skip-execution``: the book shows
  its code, ``nbdev_test`` runs it in every ``make test``, and the book build does not run it a
  second time;
* a chapter whose code ``make nbtest`` has just run (``_ext/nbtest.py`` keeps each passing
  notebook's outputs in ``_build/executed/``) is rendered from those outputs and not executed a
  second time (myst-nb's ``execution_mode: off`` for that notebook); a chapter changed since,
  or never tested, is executed as before;
* a hidden first cell makes nbdev's ``show_doc`` start with ``<hr/>`` instead of the
  Markdown rule ``---``, which docutils rejects at the start of an output (the outputs kept
  from the tests get the same change);
* every notebook's kernel talks over Unix sockets (``smap_hybrid.batch.IPCKernelManager``),
  not TCP ports another process can take between their choice and the kernel's bind
  (chapter 19 tells the story);
* after the build, the BokehJS and Panel scripts that plot outputs load from their CDNs are
  copied from the installed ``bokeh`` and ``panel`` packages into ``_static/offline/`` and the
  pages point there, so the interactive figures work offline and in a sandboxed browser.
"""

import configparser
import json
import os
import re
import shutil
from pathlib import Path

DIRECTIVE = re.compile(r"^\s*#\|\s*(.*?)\s*$")
SHOW_DOC_PATCH = """\
import re as _re
from nbdev.showdoc import BasicMarkdownRenderer as _R
_md = _R._repr_markdown_
_R._repr_markdown_ = lambda self: _re.sub(r"^---", "<hr/>", _md(self))
"""


def _test_flags(srcdir):
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(Path(srcdir) / "settings.ini")
    return set(cfg["DEFAULT"].get("tst_flags", "").split())


def tags_for(directives, test_flags):
    """Cell tags that reproduce nbdev's meaning of `directives` in the rendered book."""
    tags = []
    for d in directives:
        head, _, value = d.partition(":")
        key, value = (head.split() or [""])[0], value.strip().lower()
        if key in ("hide", "default_exp", "exporti"):
            tags.append("remove-cell")
        elif key == "echo" and value == "false":
            tags.append("remove-input")
        elif key == "output" and value == "false":
            tags.append("remove-output")
        elif (key == "eval" and value == "false") or key in test_flags or key == "test_only":
            tags.append("skip-execution")
    return tags


def _code(source) -> str:
    "A cell's code without its directive lines, as nbdev runs it."
    src = source if isinstance(source, str) else "".join(source)
    return "\n".join(line for line in src.splitlines() if not DIRECTIVE.match(line)).strip()


def _hr(output: dict) -> dict:
    "The output with a Markdown rule at its start made <hr/> (what SHOW_DOC_PATCH does)."
    md = output.get("data", {}).get("text/markdown")
    if md is not None:
        md = re.sub(r"^---", "<hr/>", md if isinstance(md, str) else "".join(md))
        output = {**output, "data": {**output["data"], "text/markdown": md}}
    return output


def outputs_from_tests(nb: dict, record: dict) -> bool:
    """Give `nb`'s code cells the outputs `record` (id -> source, outputs: what nbdev_test ran,
    `_ext/nbtest.py`) holds, and turn its execution off, if the code is the same cell for
    cell; else leave `nb` as it is. Whether it did."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if {c.get("id"): _code(c["source"]) for c in code} != {
            i: _code(r["source"]) for i, r in record.items()}:
        return False
    for c in code:
        c["outputs"] = [_hr(o) for o in record[c["id"]]["outputs"]]
    nb.setdefault("metadata", {})["mystnb"] = {"execution_mode": "off"}
    return True


def rewrite_notebook(text, test_flags=(), record=None):
    """Return notebook JSON `text` with nbdev directives turned into Jupyter Book tags, and the
    outputs of `record` (see `outputs_from_tests`) where it holds this notebook's code."""
    nb = json.loads(text)
    tested = record is not None and outputs_from_tests(nb, record)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = src.splitlines()
        directives = [m.group(1) for m in map(DIRECTIVE.match, lines) if m]
        if not directives:
            continue
        kept = [line for line in lines if not DIRECTIVE.match(line)]
        cell["source"] = "\n".join(kept).strip("\n")
        meta = cell.setdefault("metadata", {})
        meta["tags"] = sorted(
            set(meta.get("tags", [])) | set(tags_for(directives, set(test_flags)))
        )
        if tested and "skip-execution" in meta["tags"]:
            cell["outputs"] = []   # run by nbdev_test only: the book shows its code alone
    patch = {
        "cell_type": "code",
        "execution_count": None,
        "id": "nbdev-book-showdoc",
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": SHOW_DOC_PATCH,
    }
    nb["cells"].insert(0, patch)
    return json.dumps(nb)


def _source_read(app, docname, source):
    if app.env.doc2path(docname).endswith(".ipynb"):
        kept = Path(app.srcdir) / "_build" / "executed" / (Path(docname).name + ".json")
        record = json.loads(kept.read_text()) if kept.exists() else None
        source[0] = rewrite_notebook(source[0], _test_flags(app.srcdir), record)


CDN = re.compile(
    r"https://cdn\.(bokeh\.org/bokeh/release|holoviz\.org/panel/[\d.]+/dist)/([^\"'\s\\]+?\.js)"
)


def local_script(host, name):
    "The installed file behind a BokehJS/Panel CDN URL, or None."
    if host.startswith("bokeh"):
        import bokeh.util.paths

        base = re.sub(
            r"-\d+\.\d+\.\d+(?:\.\w+)?(?=\.min\.js$|\.js$)", "", name
        )  # bokeh-gl-3.9.2.min.js → bokeh-gl.min.js
        path = Path(bokeh.util.paths.bokehjs_path()) / "js" / base
    else:
        import panel

        path = Path(panel.__file__).parent / "dist" / name
    return path if path.exists() else None


def offline_assets(outdir):
    "Copy CDN scripts referenced by the built pages into _static/offline and point the pages there."
    outdir = Path(outdir)
    target = outdir / "_static" / "offline"
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")

        def swap(m):
            src = local_script(m.group(1), m.group(2))
            if src is None:
                return m.group(0)
            dst = target / m.group(1).split("/")[0].split(".")[0] / m.group(2)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                shutil.copyfile(src, dst)
            return os.path.relpath(dst, page.parent).replace(os.sep, "/")

        new = CDN.sub(swap, text)
        if new != text:
            page.write_text(new, encoding="utf-8")


def _build_finished(app, exc):
    if exc is None and app.builder.format == "html":
        offline_assets(app.outdir)


def _kernels_over_unix_sockets():
    # myst-nb's cache mode executes through jupyter-cache, which hands extra keyword arguments
    # to nbclient but offers no setting for them: the one call is given the kernel manager here
    from functools import partial

    from myst_nb.core.execute import cache

    from smap_hybrid.batch import IPCKernelManager

    cache.single_nb_execution = partial(cache.single_nb_execution,
                                        kernel_manager_class=IPCKernelManager)


def setup(app):
    _kernels_over_unix_sockets()
    app.connect("source-read", _source_read)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
