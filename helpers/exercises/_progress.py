"""Progress across the course: every exercise's last result, kept in a small JSON file between sessions.

The file lives in the user's cache folder (`$XDG_CACHE_HOME`, else `~/.cache`), at
`pytorch-workflow-course/progress.json`, outside the repository; the environment variable
`PYTORCH_COURSE_PROGRESS` names another file. A missing, unreadable or corrupt file means "nothing
attempted yet"; a file that cannot be written (a read-only home) is skipped without a word. Only
attempts are written: a "not attempted" check (blanks still there) never overwrites an earlier result.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_VAR", "Progress", "progress", "progress_path", "read_results", "record"]

ENV_VAR = "PYTORCH_COURSE_PROGRESS"
_STATES = ("not attempted", "incorrect", "correct")


def progress_path() -> Path:
    """The progress file: $PYTORCH_COURSE_PROGRESS, else <cache folder>/pytorch-workflow-course/progress.json."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(cache) / "pytorch-workflow-course" / "progress.json"


def read_results() -> dict[str, str]:
    """The recorded results, {"ex04.q1": "correct", ...}; an absent, unreadable or corrupt file gives {}."""
    try:
        data = json.loads(progress_path().read_text(encoding="utf-8"))
        results = data.get("results", {}) if isinstance(data, dict) else {}
        return {k: v for k, v in results.items() if isinstance(k, str) and v in _STATES} if isinstance(
            results, dict) else {}
    except (OSError, ValueError, RuntimeError):  # missing, unreadable, not JSON, no home folder
        return {}


def record(key: str, state: str) -> None:
    """Remember the result of exercise `key` ("ex04.q1"): written atomically; any failure is silent."""
    if state not in _STATES[1:]:
        return  # blanks still there: nothing was attempted, and an earlier result stays
    results = read_results()
    if results.get(key) == state:
        return
    results[key] = state
    try:
        path = progress_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "results": dict(sorted(results.items()))}, f, indent=1)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, RuntimeError):  # a read-only home, a full disk, no home folder: progress is a nicety
        pass


def _modules() -> list[str]:
    """The names of the course's exercise modules (ex01, ex02, ...), found by listing this package."""
    import pkgutil

    here = str(Path(__file__).resolve().parent)
    names = [m.name for m in pkgutil.iter_modules([here]) if re.fullmatch(r"ex\d+", m.name)]
    return sorted(names, key=lambda n: int(n[2:]))


@dataclass(frozen=True)
class Row:
    """One exercise in the progress table."""

    module: str
    name: str
    title: str
    state: str


@dataclass(frozen=True)
class Progress:
    """Every exercise of the course with its last result, and the counts; shows as HTML or text."""

    rows: tuple[Row, ...]
    broken: tuple[str, ...] = ()  # modules that could not be loaded, with the reason

    def count(self, state: str) -> int:
        """How many exercises have this last result."""
        return sum(r.state == state for r in self.rows)

    def summary(self) -> str:
        """One line: 'Correct: 5 of 39 · Incorrect: 2 · Not attempted: 32'."""
        return (f"Correct: {self.count('correct')} of {len(self.rows)} · Incorrect: {self.count('incorrect')} · "
                f"Not attempted: {self.count('not attempted')}")

    def __str__(self) -> str:
        from ._core import _STYLE

        lines = [f"Your progress. {self.summary()}"]
        for r in self.rows:
            label, _, mark = _STYLE[r.state]
            lines.append(f"  {r.module}.{r.name:<3} {mark} {label:<13} {r.title}")
        lines += [f"  {b}" for b in self.broken]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        """A table, one row per exercise; each result has its word and its mark, not only a colour."""
        from ._core import _STYLE

        cells, last = [], None
        for r in self.rows:
            label, colour, mark = _STYLE[r.state]
            notebook = f"notebook {r.module[2:]}" if r.module != last else ""
            last = r.module
            cells.append(f"<tr><td>{notebook}</td><td><code>{r.module}.{r.name}</code></td>"
                         f"<td>{html.escape(r.title)}</td>"
                         f'<td style="color:{colour}; font-weight:bold">{mark} {label}</td></tr>')
        broken = "".join(f"<p>{html.escape(b)}</p>" for b in self.broken)
        return (f"<p><b>Your progress.</b> {html.escape(self.summary())}</p>"
                "<table><thead><tr><th>notebook</th><th>exercise</th><th>title</th><th>last result</th></tr>"
                f"</thead><tbody>{''.join(cells)}</tbody></table>{broken}")


def collect() -> Progress:
    """Every exercise of every module (ex01 ... exNN, as the package holds them) with its recorded result."""
    import importlib

    from ._core import Problem

    results, rows, broken = read_results(), [], []
    for module in _modules():
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except Exception as err:  # noqa: BLE001 - one broken module must not hide the others
            broken.append(f"{module}: could not be loaded ({type(err).__name__}: {str(err)[:120]})")
            continue
        problems = [(n, p) for n, p in vars(mod).items() if isinstance(p, Problem)]
        for name, problem in sorted(problems, key=lambda item: (len(item[0]), item[0])):
            rows.append(Row(module, name, problem.title, results.get(f"{module}.{name}", "not attempted")))
    return Progress(tuple(rows), tuple(broken))


def progress() -> None:
    """Show every exercise of the course with its last result and the counts (HTML in a notebook, else text)."""
    from ._core import _show

    _show(collect())
