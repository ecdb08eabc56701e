"""Draw the course's workflow diagram: notebooks/images/workflow.png (shown in 00_start_here).

Usage: python tools/draw_workflow.py [OUT.png]
The six stages of the PyTorch workflow left to right, each with the notebooks that teach it, and
below them the notebooks that run the whole workflow again (07, 09), look at it from the side
(10-12) or run it on several processes (13). Deterministic: the same PNG on every run (no date or
version in its metadata).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "images" / "workflow.png"

# (title, notebooks, Okabe-Ito colour) for each stage, in order
STAGES = [
    ("Data", "01 tensors\n02 train / val / test\n08 files, mini-batches", "#56B4E9"),
    ("Model", "03 nn.Module,\nnn.Parameter, nn.Linear", "#009E73"),
    ("Loss &\noptimizer", "04 L1, MSE,\nSGD, Adam, lr", "#F0E442"),
    ("Training\nloop", "04 the loop's steps,\nnumbered 0-5\n08 mini-batches", "#E69F00"),
    ("Evaluation", "05 metrics, residuals;\nvalidation while tuning,\ntest once at the end", "#CC79A7"),
    ("Save &\nload", "06 state_dict,\nweights_only,\ncheckpoints", "#0072B2"),
]
# notebooks that span the whole workflow, drawn as bars under the stages
BARS = [
    ("07  the whole workflow again, end to end, on any device (CPU or GPU)", "#DDDDDD"),
    ("09  the same workflow on images: classify handwritten digits read from folders", "#DDDDDD"),
    ("10  testing and debugging   ·   11  bottlenecks and profiling   ·   12  training with ignite", "#DDDDDD"),
    ("13  distributed training: the same training on several processes (DDP and torchrun)", "#DDDDDD"),
]


def draw(out: Path = OUT) -> Path:
    """Draw the diagram and save it as a PNG at `out`; return the path."""
    lift = 0.62 * (len(BARS) - 3)  # the stages sit above the bars, however many there are
    fig = plt.figure(figsize=(13, 5.6 + lift), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 12.95), ylim=(-lift, 5.6))
    ax.axis("off")
    width, gap = 1.85, 0.3
    for i, (title, notebooks, colour) in enumerate(STAGES):
        x = 0.2 + i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 2.35), width, 2.45, boxstyle="round,pad=0.03,rounding_size=0.12",
                                    fc=(*matplotlib.colors.to_rgb(colour), 0.35), ec="black", lw=1.2))
        ax.text(x + width / 2, 4.45, title, ha="center", va="top", fontsize=13, weight="bold")
        ax.text(x + width / 2, 3.35, notebooks, ha="center", va="top", fontsize=9.5, linespacing=1.35)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.02, 3.6), (x - 0.02, 3.6), arrowstyle="-|>",
                                         mutation_scale=18, lw=1.5, color="black"))
    # evaluation on the validation set feeds back into the choices made for training
    train_x = 0.2 + 3 * (width + gap) + width / 2
    eval_x = 0.2 + 4 * (width + gap) + width / 2
    ax.add_patch(FancyArrowPatch((eval_x, 4.85), (train_x, 4.85), connectionstyle="arc3,rad=0.35",
                                 arrowstyle="-|>", mutation_scale=16, lw=1.3, ls="--", color="black"))
    ax.text((train_x + eval_x) / 2, 5.32, "validation loss: tune lr, epochs, ...", ha="center", fontsize=9.5,
            style="italic")
    for j, (label, colour) in enumerate(BARS):
        y = 1.55 - j * 0.62
        ax.add_patch(FancyBboxPatch((0.2, y), 12.55, 0.46, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    fc=colour, ec="black", lw=0.8))
        ax.text(0.4, y + 0.23, label, va="center", fontsize=10.5)
    ax.text(0.2, 2.08, "Each stage is written out in its notebook, then imported from helpers; notebook 00 "
            "is the start.", fontsize=9, color="#333333")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(draw(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
