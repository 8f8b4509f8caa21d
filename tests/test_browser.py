"""The built book in a real browser (Debian's chromium driven by Playwright): every chapter loads
without JavaScript errors, no nbdev `#|` text is visible, and the interactive plots render
(BokehJS is inlined, so they render offline). Screenshots land in _build/screenshots/."""

import shutil
from pathlib import Path

import pytest
import yaml

from smap_hybrid.smap import sample_data

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extra: make install"
    )
    if CHROMIUM is None:
        pytest.skip("chromium not found: `make chromium` installs Debian's chromium")
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: run `make book`")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def open_page(browser, chapter):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((HTML / f"{chapter}.html").as_uri(), wait_until="load")
    return page, errors


def test_every_chapter_loads_without_directive_text(browser):
    for ch in chapters():
        page, errors = open_page(browser, ch)
        text = page.inner_text("main")
        assert len(text) > 300, f"{ch}: page has almost no content"
        assert "#|" not in text, f"{ch}: nbdev directive text is visible"
        assert not [e for e in errors if "bokeh" in e.lower() or "holoviews" in e.lower()], (
            f"{ch}: plot script errors {errors}"
        )
        page.close()


@pytest.mark.parametrize(
    "chapter, min_plots",
    [
        ("nbs/06_twin", 3),
        ("nbs/14_reconstruction", 4),
        ("nbs/18_experiment", 4),
        ("nbs/05_regrid", 3),
    ],
)
def test_interactive_plots_render(browser, chapter, min_plots):
    if chapter.endswith("05_regrid") and sample_data() is None:
        pytest.skip("real SMAP samples not found: chapter 5 draws its maps from them")
    page, errors = open_page(browser, chapter)
    page.wait_for_selector(
        "canvas", state="attached", timeout=30_000
    )  # Bokeh draws into canvases (in shadow roots)
    page.wait_for_timeout(1500)
    n = page.locator("canvas").count()
    assert n >= min_plots, (
        f"{chapter}: {n} rendered plot canvases, expected at least {min_plots} (errors: {errors})"
    )
    if chapter.endswith("14_reconstruction"):
        assert (
            page.locator(".noUi-target, input[type=range], .bk-slider-title, .noUi-handle").count()
            >= 1
        ), "no time slider"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(chapter).name}.png"), full_page=False)
    page.close()


def test_screenshot_of_the_front_page(browser):
    page, _ = open_page(browser, "nbs/00_index")
    SHOTS.mkdir(parents=True, exist_ok=True)
    out = SHOTS / "00_index.png"
    page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 20_000
    page.close()


def test_results_on_the_front_page_and_the_comparison_chapter(browser):
    page, _ = open_page(browser, "nbs/00_index")
    text = page.inner_text("main")
    assert (
        "Results of" in text
        and "DCT-PLS" in text
        and "WBM closed loop" in text
        and "papermill" in text
    )
    page.close()
    page, _ = open_page(browser, "nbs/19_loop_modes_and_scales")
    assert page.locator("main table").count() >= 4, (
        "the grid, the comparison, the outage and twin-truth tables"
    )
    img = page.locator("main img").first
    img.wait_for(state="attached")
    assert page.evaluate("(i) => i.naturalWidth", img.element_handle()) > 500, (
        "the comparison figure is rendered"
    )
    assert "seed study" in page.inner_text("main")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "19_loop_modes_and_scales.png"), full_page=True)
    page.close()


def test_equations_render_offline(browser):
    "MathJax is served from the book itself: with every network request refused, equations render."
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    remote = []

    def refuse_network(route):
        remote.append(route.request.url)
        route.abort()

    page.route("http*://**", refuse_network)
    page.goto((HTML / "nbs" / "09_wbm.html").as_uri(), wait_until="load")
    page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
    n = page.locator("mjx-container").count()
    assert n >= 10, f"only {n} equations rendered by MathJax"
    assert page.locator("mjx-merror").count() == 0, "MathJax reports a TeX error"
    assert not [u for u in remote if "mathjax" in u.lower()], f"MathJax fetched remotely: {remote}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "09_wbm.png"), full_page=False)
    page.close()
