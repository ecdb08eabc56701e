"""Shared facts about the course repository: where it lives, and the canonical notebook cells."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_MARKER = "# Setup: in Colab"


def repository_url() -> str:
    """Return the canonical course repository URL from pyproject.toml ([project.urls] Repository)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    url = data["project"]["urls"]["Repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"pyproject.toml Repository must be https://github.com/OWNER/REPO, got {url!r}")
    return url


def site_url() -> str:
    """Return the course website's address on GitHub Pages, derived from the repository URL."""
    owner, repo = repository_url().removeprefix("https://github.com/").split("/")
    host = f"https://{owner.lower()}.github.io/"
    return host if repo.lower() == f"{owner.lower()}.github.io" else f"{host}{repo}/"


def badge_markdown(notebook: Path, branch: str = "main") -> str:
    """Return the 'Open in Colab' badge line for a notebook of this repository."""
    slug = repository_url().removeprefix("https://github.com/")
    rel = notebook.resolve().relative_to(ROOT).as_posix()
    return f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/{slug}/blob/{branch}/{rel})"


def setup_cell_source() -> str:
    """Return the canonical first code cell: in Colab, fetch the course and install helpers; then import it."""
    return (
        f"{SETUP_MARKER}, fetch the course (its data/ folder) and install its helpers package;\n"
        "# Colab keeps its own torch. Anywhere else (make lab, pip, conda) this only imports helpers.\n"
        "import os\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules and not os.path.isfile("../data/straight_line.csv"):\n'
        "    import subprocess\n"
        "\n"
        f'    COURSE = os.environ.get("COURSE_REPO", "{repository_url()}")\n'
        '    if not os.path.isdir("course"):\n'
        '        subprocess.run(["git", "clone", "-q", "--depth", "1", COURSE, "course"], check=True)\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "./course"], check=True)\n'
        '    os.chdir("course/notebooks")  # so that "../data" is the course\'s data folder, as everywhere\n'
        "\n"
        "import helpers"
    )


def notebook_paths() -> list[Path]:
    """Return the course notebooks in order (NN_topic.ipynb)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
