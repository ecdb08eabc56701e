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


def badge_markdown(notebook: Path, branch: str = "main") -> str:
    """Return the 'Open in Colab' badge line for a notebook of this repository."""
    slug = repository_url().removeprefix("https://github.com/")
    rel = notebook.resolve().relative_to(ROOT).as_posix()
    return f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/{slug}/blob/{branch}/{rel})"


def setup_cell_source() -> str:
    """Return the canonical first code cell: installs helpers in Colab only, then imports it."""
    return (
        f"{SETUP_MARKER}, install the course's helpers package (Colab keeps its own torch).\n"
        "# Anywhere else (make lab, pip, conda) helpers is already installed and this only imports it.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+{repository_url()}"], check=True)\n'
        "\n"
        "import helpers"
    )


def notebook_paths() -> list[Path]:
    """Return the course notebooks in order (NN_topic.ipynb)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
