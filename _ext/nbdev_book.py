"""Render nbdev notebooks in Jupyter Book 1.x.

nbdev drives export and testing with ``#|`` directives in code cells. Jupyter Book knows
nothing of them, so this Sphinx extension rewrites each notebook as Sphinx reads it:

* every ``#|`` line is removed from the cell source, so no directive text reaches a page;
* ``hide`` and ``default_exp`` become the ``remove-cell`` tag (the cell still runs);
* ``echo: false`` becomes ``remove-input``; ``output: false`` becomes ``remove-output``;
* ``eval: false`` and the test flags in settings.ini (``slow``, ``gpu``) become
  ``skip-execution``, exactly as ``nbdev_test`` skips them;
* a hidden first cell makes nbdev's ``show_doc`` start with ``<hr/>`` instead of the
  Markdown rule ``---``, which docutils rejects at the start of an output.
"""
import configparser
import json
import re
from pathlib import Path

DIRECTIVE = re.compile(r"^\s*#\|\s*(.*?)\s*$")
SHOW_DOC_PATCH = '''\
import re as _re
from nbdev.showdoc import BasicMarkdownRenderer as _R
_R._repr_markdown_ = (lambda md: lambda self: _re.sub(r"^---", "<hr/>", md(self)))(_R._repr_markdown_)
'''


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
        elif (key == "eval" and value == "false") or key in test_flags:
            tags.append("skip-execution")
    return tags


def rewrite_notebook(text, test_flags=()):
    """Return notebook JSON `text` with nbdev directives turned into Jupyter Book tags."""
    nb = json.loads(text)
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
        meta["tags"] = sorted(set(meta.get("tags", [])) | set(tags_for(directives, set(test_flags))))
    patch = {"cell_type": "code", "execution_count": None, "id": "nbdev-book-showdoc",
             "metadata": {"tags": ["remove-cell"]}, "outputs": [], "source": SHOW_DOC_PATCH}
    nb["cells"].insert(0, patch)
    return json.dumps(nb)


def _source_read(app, docname, source):
    if app.env.doc2path(docname).endswith(".ipynb"):
        source[0] = rewrite_notebook(source[0], _test_flags(app.srcdir))


def setup(app):
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
