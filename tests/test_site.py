"""The course website (issue 25): built offline from the stored outputs, then read in headless Chromium.

The site is built once (tools/build_site.py into build/site/, as `make site` does; explorer frames are
cached under build/site-cache/) and served from 127.0.0.1. Then: every page loads with no console error
and no request to any other host, and axe-core finds no serious or critical accessibility violation;
every internal link and anchor resolves; searching "inference_mode" finds notebook 05; the theme toggle
switches light and dark; each explorer's slider changes its picture; pages fit a phone's width.
Chromium is launched as in tests/test_browser.py; without it this file skips locally and fails under CI.
"""

from __future__ import annotations

import functools
import html
import html.parser
import importlib
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
from site_frames import MAX_BYTES, SPECS  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS, _missing  # noqa: E402  (the same launch recipe)

OUT = ROOT / "build" / "site"
ARTIFACTS = ROOT / "artifacts" / "site"
NOTEBOOKS = build_site.notebook_paths()
CODE = "div.highlight"  # code cells and text outputs, coloured by one highlighting style
PAGES = sorted([*(p.stem + ".html" for p in NOTEBOOKS), "index.html", "cheatsheet.html", "search.html"])

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def built():
    """Build the site as `make site` does and return the build's figures."""
    return build_site.build(OUT)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on the test's output
        pass


@pytest.fixture(scope="module")
def server(built):
    """The built site over HTTP on 127.0.0.1 (a random free port), for the module's tests."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(OUT)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """Debian's headless Chromium through Playwright; every request to another host is refused and recorded."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"site test cannot run under CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
        )
        context.elsewhere = []
        local = urllib.parse.urlsplit(server).netloc

        def route(r):
            if urllib.parse.urlsplit(r.request.url).netloc == local or r.request.url.startswith("data:"):
                r.continue_()
            else:
                context.elsewhere.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        yield context
        context.close()


def _open(browser, server: str, page_name: str):
    """Open one page; return it with the console errors and failed loads it had."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/{page_name}", wait_until="load", timeout=60_000)
    return page, problems


def test_the_build_has_no_warnings_but_missing_alt_text(built):
    others = [w for w in built["warnings"] if build_site.ALT_WARNING not in w]
    assert not others, "Sphinx warnings:\n" + "\n".join(others)
    expected = {n.replace(".ipynb", ".html") for n in built["notebooks"]} | {"index.html", "cheatsheet.html",
                                                                            "search.html"}
    assert set(built["pages"]) == expected


def _axe(page, context: dict | None = None, **options) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context, options={"resultTypes": ["violations"], **options})
    return [f"{v['id']} ({v['impact']}): {v['help']} -- {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_clean_offline_and_passes_axe(browser, server, page_name):
    before = len(browser.elsewhere)
    page, problems = _open(browser, server, page_name)
    page.wait_for_load_state("networkidle", timeout=60_000)  # whatever the page asks for after its load event
    problems = list(problems)  # what loading the page caused (axe itself fetches stylesheets as it checks)
    try:
        # every rule; colour contrast outside the code blocks, whose colours (one highlighting style for
        # every page) test_code_and_explorer_contrast_in_both_themes checks, saving most of axe's time
        found = _axe(page, rules={"color-contrast": {"enabled": False}})
        found += _axe(page, {"exclude": [[CODE]]}, runOnly=["color-contrast"])
        if page_name in ("index.html", "04_training_loop.html"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / page_name.replace(".html", ".png")))
    finally:
        page.close()
    assert not problems, f"{page_name}: {problems}"
    assert browser.elsewhere[before:] == [], f"{page_name} asked another host: {browser.elsewhere[before:]}"
    assert not found, f"{page_name}: axe-core found serious or critical violations:\n" + "\n".join(found)


# 01, whole: code, outputs, an explorer, exercise verdicts; 10, its tables only: the training doctor's reports (its
# code blocks have the colours of 01's, and its 200-odd of them took axe 15 s a theme)
CONTRAST = {"01_data.html": None, "10_testing_and_debugging.html": {"include": [["table"]]}}


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("page_name", sorted(CONTRAST))
def test_code_and_explorer_contrast_in_both_themes(browser, server, mode, page_name):
    page = browser.new_page()
    page.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}')")
    try:
        page.goto(f"{server}/{page_name}", wait_until="load")
        assert page.evaluate("document.documentElement.dataset.theme") == mode
        assert CONTRAST[page_name] is None or page.locator("table").count() > 0, f"{page_name} shows no table"
        found = _axe(page, CONTRAST[page_name], runOnly=["color-contrast"])
        page.evaluate("localStorage.clear()")  # the next test starts from the default theme again
    finally:
        page.close()
    assert not found, f"{page_name}, {mode} theme: axe-core found contrast violations:\n" + "\n".join(found)


class _Refs(html.parser.HTMLParser):
    """Collects a page's ids and the targets of its links, pictures and scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and not (tag == "link" and a.get("rel") in ("canonical",)):
                self.refs.append(a[key])


def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


def test_every_internal_link_and_anchor_resolves(built):
    parsed = {p: _parse(p) for p in OUT.glob("*.html")}
    broken = []
    for page, refs in parsed.items():
        for ref in refs.refs:
            parts = urllib.parse.urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.name}: {ref} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = (parsed.get(target) or _parse(target)).ids
                if urllib.parse.unquote(parts.fragment) not in ids:
                    broken.append(f"{page.name}: {ref} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_search_finds_inference_mode_in_notebook_05(browser, server):
    page, problems = _open(browser, server, "search.html?q=inference_mode")
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    finally:
        page.close()
    assert any("05_evaluation.html" in h for h in hits), f"search for inference_mode found {hits}"
    assert not problems


def test_theme_toggle_switches_between_light_and_dark(browser, server):
    page, problems = _open(browser, server, "index.html")
    try:
        seen = {}
        for mode in ("dark", "light", "dark"):  # the navbar's colour-mode menu: System / Light / Dark
            page.locator(".theme-switch-button:visible").first.click()
            page.locator(f".theme-change-button[data-mode='{mode}']:visible").first.click()
            page.wait_for_function(f"document.documentElement.dataset.theme === '{mode}'", timeout=5_000)
            seen[mode] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        kept = page.evaluate("localStorage.getItem('mode')")
        page.evaluate("localStorage.clear()")
    finally:
        page.close()
    assert seen["dark"] != seen["light"], f"the background stayed {seen['light']} in both themes"
    assert kept == "dark", "the choice is not remembered for the next page"
    assert not problems, problems


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_explorer_slider_changes_the_picture(browser, server, spec):
    page, problems = _open(browser, server, f"{spec.notebook}.html")
    try:
        box = page.locator(f".course-explorer[data-explorer='{spec.name}']")
        box.wait_for(state="visible", timeout=10_000)
        picture = page.locator(f".cell:has(.course-explorer[data-explorer='{spec.name}']) img").first
        start_src, start_alt = picture.get_attribute("src"), picture.get_attribute("alt")
        message = box.locator(".course-explorer-message").inner_text()
        slider = box.locator("input[type=range]")
        slider.focus()
        page.keyboard.press("End" if slider.get_attribute("value") == "0" else "Home")
        page.wait_for_function("([img, src]) => img.getAttribute('src') !== src || img.hidden",
                               arg=[picture.element_handle(), start_src], timeout=5_000)
        moved_alt, moved_message = picture.get_attribute("alt"), box.locator(".course-explorer-message").inner_text()
        if spec is SPECS[0]:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(f".cell:has(.course-explorer[data-explorer='{spec.name}'])").screenshot(
                path=str(ARTIFACTS / f"{spec.name}.png"))
    finally:
        page.close()
    assert message and moved_message != message, "the explorer's own message did not follow the slider"
    assert moved_alt and moved_alt != start_alt, "the picture's alt text did not follow the slider"
    assert not problems, problems


@pytest.mark.parametrize("page_name", ["index.html", "04_training_loop.html"])
def test_pages_fit_a_phone(browser, server, page_name):
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{server}/{page_name}")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    finally:
        page.close()
    assert width[0] <= width[1], f"{page_name} is {width[0]} px wide on a {width[1]} px phone screen"


def test_each_explorer_has_its_frames_within_budget(built):
    for spec in SPECS:
        folder = OUT / "_static" / "frames" / spec.name
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        pictures = [folder / f for f in manifest["frames"] if f]
        assert len(pictures) >= 5, f"{spec.name}: only {len(pictures)} frames"
        assert sum(p.stat().st_size for p in pictures) <= MAX_BYTES, f"{spec.name}: frames over the budget"
        # a control that did not reach the explorer would leave one picture many times over
        assert len({p.read_bytes() for p in pictures}) > len(pictures) // 2, f"{spec.name}: frames repeat"
        assert len(manifest["messages"]) == len(manifest["values"]) == len(manifest["frames"])


def test_notebook_pages_link_to_colab_and_the_download_and_keep_answers_collapsed(built):
    for path in NOTEBOOKS:
        text = (OUT / f"{path.stem}.html").read_text(encoding="utf-8")
        assert f"/blob/main/notebooks/{path.name}\">Open in Colab</a>" in text, path.name
        assert f'href="notebooks/{path.name}" download' in text, path.name
        download = nbformat.read(OUT / "notebooks" / path.name, as_version=4)  # the notebook itself, badge and all
        first = nbformat.read(path, as_version=4).cells[0].source.splitlines()
        assert download.cells[0].source.splitlines()[:3] == first[:3], f"{path.name}: not the notebook's title"
        assert not re.search(r"<details[^>]*\bopen\b", text), f"{path.name}: a details block is open"
        assert "colab-badge.svg" not in text, f"{path.name}: the remote badge image is still on the page"


def _words(text: str) -> str:
    """The words of a text (HTML tags and markup left out), for finding one text inside another."""
    return " ".join(re.findall(r"\w+", html.unescape(re.sub(r"<[^>]+>", " ", text))))


def test_each_exercise_check_has_its_hint_and_solution_after_it(built):
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        checks = [m for c in nb.cells if c.cell_type == "code" for m in build_site.CHECK.findall(c.source)]
        page = _words((OUT / f"{path.stem}.html").read_text(encoding="utf-8"))
        for module, question in checks:
            problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), question)
            check = page.index(f"{module} {question} check")
            hint = page.index(f"Hint {module} {question}", check)
            solution = page.index(f"Solution {module} {question}", hint)
            assert " ".join(_words(problem.hint_text).split()[:8]) in page[hint:solution], f"{module}.{question}"
            assert " ".join(_words(problem.solution_code).split()[:8]) in page[solution:], f"{module}.{question}"
        if checks:
            assert "cannot run the exercises" in page, f"{path.name}: no word that the checks need Colab"


def test_a_pictures_alt_text_reaches_the_page(tmp_path):
    """The plumbing, on a one-notebook site: output metadata alt -> <img alt>; a missing one is said and warned."""
    src, out, extra = tmp_path / "src", tmp_path / "out", tmp_path / "extra"
    src.mkdir()
    extra.mkdir()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    described = nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                                       metadata={"image/png": {"alt": "A single red pixel, the smallest picture"}})
    bare = nbformat.v4.new_output("display_data", data={"image/png": png[:-4] + "AAA=", "text/plain": "<Figure>"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Tiny\n\nA page."),
                                         nbformat.v4.new_code_cell("show()", outputs=[described, bare])])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src / "index.ipynb")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(ROOT / "site"),
                          "-w", str(tmp_path / "warnings.txt"), str(src), str(out)],
                         env={**os.environ, "COURSE_SITE_EXTRA": str(extra)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'alt="A single red pixel, the smallest picture"' in page
    assert 'alt="A figure whose description is still missing from the notebook"' in page
    assert "has no alt text" in (tmp_path / "warnings.txt").read_text(encoding="utf-8")


def test_the_readme_gives_the_sites_address_and_badge_from_the_repository_url():
    """Whatever github.io address or workflow badge the README shows must be the canonical repository's."""
    from course import repository_url, site_url

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for address in re.findall(r"https://[\w.-]+\.github\.io/[\w./-]*", readme):
        assert address.rstrip("/") + "/" == site_url() or address.startswith(site_url()), address
    for badge in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+/actions/workflows/[\w.-]+\.yml/badge\.svg", readme):
        assert badge.startswith(repository_url() + "/actions/workflows/"), badge
        assert (ROOT / ".github" / "workflows" / badge.split("/")[-2]).exists(), badge


def test_notebook_pages_follow_the_course_order_with_previous_and_next(built):
    order = ["index", *(p.stem for p in NOTEBOOKS), "cheatsheet"]
    for before, page, after in zip(order, order[1:], order[2:]):
        text = (OUT / f"{page}.html").read_text(encoding="utf-8")
        assert f'<link rel="prev" title="' in text and re.search(rf'rel="prev"[^>]*href="{before}\.html"', text), page
        assert re.search(rf'rel="next"[^>]*href="{after}\.html"', text), page
        assert 'class="left-prev"' in text and 'class="right-next"' in text, f"{page}: no previous/next links"


def test_code_cells_have_copy_buttons(browser, server):
    page, problems = _open(browser, server, "01_data.html")
    try:
        cells = page.locator("div.cell_input div.highlight pre").count()
        buttons = page.locator("div.cell_input button.copybtn").count()
    finally:
        page.close()
    assert cells > 5 and buttons == cells, f"{buttons} copy buttons for {cells} code cells"
    assert not problems, problems


def test_frames_are_the_explorers_own_pictures(tmp_path):
    """A frame at weight 1.0 is byte for byte what line_explorer(weight=1.0) shows: no second drawing."""
    import site_frames
    from helpers.widgets import line_explorer

    spec = site_frames.FrameSpec("01_data", "line_explorer", "weight", (-1.0, 0.7, 1.0), "weight", "{:.2f}")
    manifest = site_frames.render(spec, tmp_path)
    assert manifest["start"] == 1 and manifest["values"] == ["-1.00", "0.70", "1.00"]
    assert (tmp_path / manifest["frames"][2]).read_bytes() == line_explorer(weight=1.0).image.value
    assert (tmp_path / manifest["frames"][0]).read_bytes() != (tmp_path / manifest["frames"][2]).read_bytes()
    assert "0.70" not in manifest["messages"][2] and manifest["messages"][2]


def test_frames_refuse_a_missing_start_and_an_explorer_over_budget(tmp_path, monkeypatch):
    import site_frames

    no_start = site_frames.FrameSpec("01_data", "line_explorer", "weight", (-1.0, 1.0), "weight")
    with pytest.raises(ValueError, match="starting weight"):
        site_frames.render(no_start, tmp_path / "a")
    monkeypatch.setattr(site_frames, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="over the site's 1,000"):
        site_frames.render(site_frames.FrameSpec("01_data", "line_explorer", "weight", (0.7,), "weight"),
                           tmp_path / "b")


def test_frames_come_from_the_cache_when_nothing_changed(tmp_path, monkeypatch):
    import site_frames

    spec = site_frames.FrameSpec("01_data", "line_explorer", "weight", (0.7, 1.0), "weight", "{:.2f}")
    first = site_frames.write_frames(tmp_path / "out", tmp_path / "cache", (spec,))
    monkeypatch.setattr(site_frames, "render", lambda *a: pytest.fail("drew again although nothing changed"))
    again = site_frames.write_frames(tmp_path / "out2", tmp_path / "cache", (spec,))
    assert first == again and (tmp_path / "out2" / "line_explorer" / "manifest.js").exists()
