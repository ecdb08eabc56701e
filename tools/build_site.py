"""Build the course website from the notebooks' stored outputs: `make site` (python tools/build_site.py [OUT]).

Nothing is executed and nothing is fetched. Steps: stage the sources under build/site-src/ (a landing
page made from the README and the notebooks' own titles, the cheat sheet, and a copy of each notebook
with its Colab / download links, hint and solution blocks after each exercise check, and a slider
under each explorer's picture), draw the explorers' frames (tools/site_frames.py, cached, in a second
process while Sphinx works), run Sphinx (site/conf.py: myst-nb, pydata-sphinx-theme) into OUT
(default build/site/), and put the frames and the original notebooks beside the pages.
A Sphinx warning fails the build, except a picture without alt text (tests/test_alt_text.py names those).
"""

from __future__ import annotations

import html
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course import BADGE_IMAGE, ROOT, notebook_paths, repository_url  # noqa: E402
from site_frames import SPECS  # noqa: E402

BUILD = ROOT / "build"
STAGE, EXTRA, FRAMES = BUILD / "site-src", BUILD / "site-extra", BUILD / "site-frames"
CACHE, DOCTREES, WARNINGS = BUILD / "site-cache" / "frames", BUILD / "site-doctrees", BUILD / "site-warnings.txt"
BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\([^)]*\)\s*$", re.M)
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
CHECK = re.compile(r"^(ex\d\d)\.(q\d+)\.check\(\)", re.M)
ALT_WARNING = "has no alt text"


def write_if_changed(path: Path, text: str) -> None:
    """Write text to path unless it already holds exactly that (so Sphinx re-reads only what changed)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def colab_url(notebook: Path) -> str:
    """The notebook's address in Colab (as its badge has it)."""
    slug = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook.name}"


def rewrite_links(text: str, origin: Path) -> str:
    """Point relative links at the site's own pages (notebooks, cheat sheet, images) or else at GitHub."""

    def fix(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = (origin.parent / path).resolve()
        try:
            rel = resolved.relative_to(ROOT)
        except ValueError:
            return m.group(0)
        if rel.parent.as_posix() == "notebooks" and rel.suffix in (".ipynb", ".md") and resolved.exists():
            new = rel.name  # a page of the site
        elif rel.as_posix().startswith("notebooks/images/"):
            new = rel.relative_to("notebooks").as_posix()  # staged beside the pages
        else:
            new = f"{repository_url()}/{'tree' if resolved.is_dir() else 'blob'}/main/{rel.as_posix()}"
        return f"{m.group(1)}{new}{'#' + anchor if anchor else ''}{m.group(3)}"

    return LINK.sub(fix, text)


def title_and_summary(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The notebook's H1 title and its one-sentence '>' summary."""
    first = nb.cells[0].source
    title = re.search(r"^# (.+)$", first, re.M)
    summary = re.search(r"^> (.+)$", first, re.M)
    return (title.group(1).strip() if title else "?"), (summary.group(1).strip() if summary else "")


def _readme_section(readme: str, heading: str) -> str:
    """The text of one '## heading' section of the README (its subsections included)."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    return m.group(1).strip() if m else ""


def landing_page(notebooks: list[Path]) -> str:
    """The site's first page: what the course teaches, the workflow diagram, the notebooks, how to run it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    h1 = re.search(r"^# (.+)$", readme, re.M)
    intro = readme[h1.end():].split("\n## ", 1)[0] if h1 else ""
    intro = re.sub(r"\[!\[[^\]]*\]\(https?://[^)]*\)\]\([^)]*\)\s*", "", intro)  # a badge: an image from elsewhere
    intro = re.sub(r"^\*\*Read it as a website:\*\*.*?(?:\n\n|\Z)", "", intro, flags=re.M | re.S)  # this is the site
    intro = rewrite_links(intro.strip(), ROOT / "README.md")
    explorers = {s.notebook: s.name.replace("_", " ") for s in SPECS}
    rows, diagram = [], ""
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        title, summary = title_and_summary(nb)
        rows.append(f"| [{title}]({path.name}) | {summary} | {explorers.get(path.stem, '')} |")
        for cell in nb.cells:
            if cell.cell_type == "markdown" and not diagram:
                found = re.search(r"!\[[^\]]+\]\(images/workflow\.png\)", cell.source)
                diagram = rewrite_links(found.group(0), path) if found else ""
    run = rewrite_links(_readme_section(readme, "Two commands"), ROOT / "README.md")  # its ### under "How to run it"
    toctree = "\n".join([p.stem for p in notebooks] + ["cheatsheet"])
    text = f"""# {h1.group(1).strip() if h1 else 'The PyTorch workflow'}

{intro}

{diagram}

## The notebooks

Each page is one notebook with the outputs of one full run. The site cannot run code: every page has an
**Open in Colab** link (run it there, with nothing to install) and a **Download notebook** link. The
explorers' sliders move here too, over pictures drawn when the site was built. A one-page
[cheat sheet](cheatsheet.md) holds the workflow in ten lines and the common errors with their fixes.

| Notebook | What you learn | Explorer |
|---|---|---|
{chr(10).join(rows)}

## How to run it

{run}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""
    return text


def _explorer_box(name: str, label: str, note: str) -> str:
    """The HTML under an explorer's picture: a range input that site/_static/explorer.js brings to life."""
    folder = f"_static/frames/{name}"
    note = note or (f"These pictures were drawn by <code>{name}</code> when this site was built, one per "
                    f"{html.escape(label)}; run the notebook for every control.")
    return (f'<div class="course-explorer" data-explorer="{name}" data-frames="{folder}" hidden>\n'
            f'<label>{html.escape(label)} <input type="range" min="0" max="0" step="1" value="0"> '
            f"<output></output></label>\n"
            f'<p class="course-explorer-message" aria-live="polite"></p>\n'
            f'<p class="course-explorer-note">{note}</p>\n</div>\n'
            f'<script src="{folder}/manifest.js"></script>\n')


def _exercise_blocks(module: str, question: str) -> str:
    """Collapsed hint and solution blocks for one exercise, from helpers.exercises."""
    problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), question)
    solution = problem.solution_code.strip()
    fence = "````" if "```" in solution else "```"
    return (f'<details class="course-exercise"><summary>Hint ({module}.{question})</summary>\n\n'
            f"{problem.hint_text.strip()}\n\n</details>\n\n"
            f'<details class="course-exercise"><summary>Solution ({module}.{question})</summary>\n\n'
            f"{fence}python\n{solution}\n{fence}\n\n</details>")


def stage_notebook(path: Path) -> nbformat.NotebookNode:
    """A copy of one notebook for the site: links, explorer sliders, hint and solution blocks."""
    nb = nbformat.read(path, as_version=4)
    links = (f'<p class="course-links"><a href="{colab_url(path)}">Open in Colab</a> '
             f'<a href="notebooks/{path.name}" download>Download notebook</a></p>')
    title = nb.cells[0]
    title.source = re.sub(r"^(# .+)$", lambda m: f"{m.group(1)}\n\n{links}", BADGE_LINE.sub("", title.source),
                          count=1, flags=re.M)
    specs = {s.name: s for s in SPECS if s.notebook == path.stem}
    cells, noted = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, path)
        elif not noted and (".bind(globals())" in cell.source or CHECK.search(cell.source)):
            cells.append(nbformat.v4.new_markdown_cell(
                "```{note}\nThis page cannot run the exercises' checks (`check()` needs a Python kernel): "
                f"[open this notebook in Colab]({colab_url(path)}) or download it to check your answers. "
                "Each exercise's hint and solution are in the collapsed blocks under its check.\n```"))
            noted = True
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        for name, spec in specs.items():
            if f"{name}(" in cell.source:
                cell.outputs.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": _explorer_box(name, spec.label, spec.note)}))
        for module, question in CHECK.findall(cell.source):
            cells.append(nbformat.v4.new_markdown_cell(_exercise_blocks(module, question)))
    nb.cells = cells
    return nb


def stage(notebooks: list[Path]) -> None:
    """Write the site's sources under build/site-src/ and the downloadable notebooks under build/site-extra/."""
    keep = {"index.md", "cheatsheet.md", *(p.name for p in notebooks)}
    for old in STAGE.glob("*.*"):
        if old.name not in keep:
            old.unlink()
    write_if_changed(STAGE / "index.md", landing_page(notebooks))
    cheatsheet = ROOT / "notebooks" / "cheatsheet.md"
    write_if_changed(STAGE / "cheatsheet.md", rewrite_links(cheatsheet.read_text(encoding="utf-8"), cheatsheet))
    shutil.copytree(ROOT / "notebooks" / "images", STAGE / "images", dirs_exist_ok=True)
    shutil.rmtree(EXTRA, ignore_errors=True)
    (EXTRA / "notebooks").mkdir(parents=True)
    for path in notebooks:
        write_if_changed(STAGE / path.name, nbformat.writes(stage_notebook(path)) + "\n")
        shutil.copy2(path, EXTRA / "notebooks" / path.name)


def sphinx(out: Path) -> list[str]:
    """Run Sphinx on the staged sources; return its warnings."""
    WARNINGS.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(ROOT / "site"), "-d", str(DOCTREES),
           "-w", str(WARNINGS), "--keep-going", str(STAGE), str(out)]
    # warnings go to the file (read below) and to stderr, which is kept quiet here: main() prints them once
    run = subprocess.run(cmd, env={**os.environ, "COURSE_SITE_EXTRA": str(EXTRA)}, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        raise RuntimeError(f"sphinx-build failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    text = WARNINGS.read_text(encoding="utf-8") if WARNINGS.exists() else ""
    return [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]


def page_weights(out: Path) -> dict[str, int]:
    """Each page's weight in bytes: its HTML plus every local file it loads (scripts, styles, pictures)."""
    weights = {}
    for page in sorted(out.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        files = {page}
        for ref in re.findall(r'(?:src|href)="([^"#?]+)[^"]*"', text):
            target = (page.parent / ref).resolve()
            if "://" not in ref and target.suffix in {".js", ".css", ".png", ".svg", ".woff2", ".jpg"} \
                    and target.is_file():
                files.add(target)
        weights[page.name] = sum(f.stat().st_size for f in files)
    return weights


def build(out: Path) -> dict:
    """Build the whole site into out; return figures about it (seconds, pages, warnings, weights)."""
    start = time.perf_counter()
    BUILD.mkdir(exist_ok=True)
    if (out / ".buildinfo").exists():  # an earlier site: start clean, so no page outlives its source
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty and holds no earlier site: choose another folder")
    # the frames need torch and matplotlib, Sphinx needs neither: two processes, two cores
    frames = subprocess.Popen([sys.executable, str(ROOT / "tools" / "site_frames.py"), str(FRAMES)],
                              stdout=subprocess.PIPE, text=True)
    try:
        notebooks = notebook_paths()
        stage(notebooks)
        warnings = sphinx(out)
    finally:
        report, _ = frames.communicate()
    if frames.returncode:
        raise RuntimeError(f"drawing the explorers' frames failed (exit {frames.returncode})")
    shutil.rmtree(out / "_static" / "frames", ignore_errors=True)
    shutil.copytree(FRAMES, out / "_static" / "frames")
    (out / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve _static/ as it is
    (out / "_static" / "webpack-macros.html").unlink(missing_ok=True)  # the theme's build template, not a page
    shutil.rmtree(out / "_sources", ignore_errors=True)  # empty: the sources are not copied (html_copy_source)
    return {"seconds": time.perf_counter() - start, "pages": sorted(p.name for p in out.glob("*.html")),
            "notebooks": [p.name for p in notebooks], "warnings": warnings,
            "frames": report.strip(), "weights": page_weights(out)}


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else BUILD / "site"
    result = build(out)
    heaviest = max(result["weights"].items(), key=lambda kv: kv[1])
    print(result["frames"])
    print(f"site: {len(result['pages'])} pages in {out}, built in {result['seconds']:.0f} s; heaviest page "
          f"{heaviest[0]} at {heaviest[1] / 1e6:.2f} MB with what it loads")
    missing_alt = [w for w in result["warnings"] if ALT_WARNING in w]
    others = [w for w in result["warnings"] if ALT_WARNING not in w]
    if missing_alt:
        print(f"{len(missing_alt)} picture(s) without alt text (see tests/test_alt_text.py)")
    for warning in others:
        print(warning, file=sys.stderr)
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
