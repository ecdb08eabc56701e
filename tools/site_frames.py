"""Frames for the course site's explorers: each explorer's own pictures at a few values of its main control.

The site has no kernel, so an explorer there is a range input over pictures drawn at build time. Each
picture comes from the explorer itself: build it as the notebook does, set its main control with
`explorer.set_values(...)`, read `explorer.image.value` (PNG bytes) and `explorer.message.value` (its
own words about the numbers). Nothing here computes or draws, and the PNG bytes are the explorer's own.
Frames are cached under build/site-cache/, keyed by the code and data they come from, so a rebuild
that changed neither draws nothing.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import math
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1_500_000  # the most frames one explorer may weigh on the site


@dataclass(frozen=True)
class FrameSpec:
    """One explorer on the site: the notebook it lives in, how to build it, which control moves."""

    notebook: str  # file stem, e.g. "01_data"
    name: str  # the explorer's function in helpers.widgets
    control: str  # key in explorer.controls
    values: tuple  # the control values to draw, in slider order
    label: str  # the control's name as the learner sees it
    fmt: str = "{}"  # how a value is shown beside the slider
    args: Callable[[], dict] | None = field(default=None, compare=False)  # the notebook's arguments, if any
    note: str = ""  # what the frames were drawn with, when it differs from the notebook's call


def _grid(low: float, high: float, step: float, *extra: float) -> tuple[float, ...]:
    """Evenly spaced values from low to high (and the extra ones, e.g. the default), sorted."""
    count = round((high - low) / step)
    return tuple(sorted({round(low + i * step, 6) for i in range(count + 1)} | {round(e, 6) for e in extra}))


def _notebook_08_data() -> dict:
    """The training split notebook 08 passes to minibatch_explorer (its own call, from data/noisy_line.pt)."""
    import helpers
    from helpers.datasets import load_tensor_dataset

    data = load_tensor_dataset(ROOT / "data" / "noisy_line.pt")
    X_train, y_train, _, _ = helpers.train_test_split(
        data["training_data"], data["training_labels"], train_fraction=0.8, shuffle=True, seed=0)
    return {"X": X_train, "y": y_train}


SPECS = (
    FrameSpec("01_data", "line_explorer", "weight", _grid(-2, 2, 0.2, 0.7), "weight", "{:.2f}"),
    FrameSpec("02_split_and_visualize", "split_explorer", "train_fraction", _grid(0.1, 0.9, 0.05, 0.8),
              "train fraction", "{:.2f}"),
    FrameSpec("03_build_a_model", "optimizer_explorer", "weight", _grid(-1, 2, 0.2, 0.3367), "weight", "{:.4f}",
              args=lambda: {"steps": False}),  # as notebook 03 calls it: MSE only, no learning rate or steps
    FrameSpec("04_training_loop", "training_explorer", "lr", tuple(10 ** (k / 2) for k in range(-8, 3)),
              "learning rate", "{:.4g}"),
    FrameSpec("08_datasets_and_dataloaders", "minibatch_explorer", "batch_size", (), "batch size", "{}",
              args=_notebook_08_data),
    FrameSpec("09_images_from_folders", "digit_explorer", "index", tuple(range(24)), "image", "{}",
              note="The notebook shows its own CNN's probabilities; these frames use the explorer's quick "
                   "built-in model (digit_explorer() with no arguments) on the first 24 test images."),
)


def _cache_key(spec: FrameSpec) -> str:
    """A hash of everything a spec's frames depend on: helpers' code, the data, this file, the spec."""
    digest = hashlib.sha256(repr((spec.notebook, spec.name, spec.control, spec.values)).encode())
    # the explorers' code and what it imports (helpers' top-level modules), never the exercises or the doctor
    sources = [*ROOT.glob("helpers/*.py"), *ROOT.glob("helpers/widgets/*.py"), Path(__file__).resolve()]
    data = [*ROOT.glob("data/*.pt"), *ROOT.glob("data/*.csv"), *ROOT.glob("data/digits/**/*.png")]
    for path in sorted(sources + data):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    for package in ("torch", "matplotlib", "ipywidgets"):  # their versions, without importing them
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


def _plain(message: str) -> str:
    """The explorer's message line without its HTML markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", message)).replace("\xa0", " ").strip()


def _build(spec: FrameSpec) -> Any:
    """Build the explorer as its notebook does."""
    import helpers.widgets

    return getattr(helpers.widgets, spec.name)(**(spec.args() if spec.args else {}))


def render(spec: FrameSpec, folder: Path) -> dict:
    """Draw one explorer's frames into folder (one PNG each) and return its manifest."""
    explorer = _build(spec)
    control = explorer.controls[spec.control]
    start = control.value
    values = spec.values or tuple(control.options)  # a selection slider: every option
    if not any(_same(v, start) for v in values):
        raise ValueError(f"{spec.name}: the starting {spec.control} {start!r} is not among the frames' values")
    folder.mkdir(parents=True, exist_ok=True)
    frames, messages, total = [], [], 0
    for i, value in enumerate(values):
        explorer.set_values(**{spec.control: value})
        messages.append(_plain(explorer.message.value))
        if explorer.result is None or not explorer.result.get("draw", True):
            frames.append(None)  # nothing sound to draw (e.g. training blew up): the message says why
            continue
        png = explorer.image.value
        (folder / f"{i:03d}.png").write_bytes(png)
        frames.append(f"{i:03d}.png")
        total += len(png)
    if total > MAX_BYTES:
        raise ValueError(f"{spec.name}: {total:,} bytes of frames, over the site's {MAX_BYTES:,}: draw fewer")
    width = explorer.image.width
    return {"name": spec.name, "notebook": spec.notebook, "control": spec.control, "label": spec.label,
            "values": [spec.fmt.format(v) for v in values], "frames": frames, "messages": messages,
            "start": next(i for i, v in enumerate(values) if _same(v, start)), "bytes": total,
            "width": int(width) if str(width).isdigit() else None, "note": spec.note}


def _same(a: Any, b: Any) -> bool:
    """Equal, or close enough for floats set through a slider."""
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    return a == b


def write_frames(out: Path, cache: Path, specs: tuple[FrameSpec, ...] = SPECS) -> dict[str, dict]:
    """Put every explorer's frames under out/<name>/ (from the cache when it is current); return the manifests."""
    manifests = {}
    for spec in specs:
        hit = cache / f"{spec.name}-{_cache_key(spec)}"
        if not (hit / "manifest.json").exists():
            shutil.rmtree(hit, ignore_errors=True)
            for stale in cache.glob(f"{spec.name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = cache / f".{hit.name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            manifest = render(spec, tmp)
            (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            # what the page loads: a script tag works from file:// too, where fetch() of a JSON file does not
            script = f"window.courseFrames[{json.dumps(spec.name)}] = {json.dumps(manifest)};\n"
            (tmp / "manifest.js").write_text("window.courseFrames = window.courseFrames || {};\n" + script,
                                             encoding="utf-8")
            tmp.rename(hit)  # whole or not at all
        shutil.rmtree(out / spec.name, ignore_errors=True)
        shutil.copytree(hit, out / spec.name)
        manifests[spec.notebook] = json.loads((hit / "manifest.json").read_text(encoding="utf-8"))
    return manifests


if __name__ == "__main__":  # draw the frames into a folder and say what they weigh
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "site-frames")
    for m in write_frames(target, ROOT / "build" / "site-cache" / "frames").values():
        print(f"{m['name']}: {sum(f is not None for f in m['frames'])} frames, {m['bytes']:,} bytes")
