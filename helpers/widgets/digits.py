"""9. The digit explorer: a slider picks a test image -> the image beside the model's class probabilities."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import torch
from torch import nn
from torch.utils.data import Dataset

from ..classify import predict_logits
from ..vision import dataset_to_tensors, load_digits
from ._base import WIDE, Explorer, _Blitted, _figure

BAR, PICKED, MARK = "#56B4E9", "#E69F00", "#000000"  # Okabe-Ito sky blue, orange, black


def quick_digit_model(seed: int = 0, steps: int = 150) -> nn.Module:
    """Train a seeded logistic regression on the course's training digits in well under a second."""
    X, y = load_digits("train")
    generator = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(X[0].numel(), 10))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.01 * torch.randn(p.shape, generator=generator))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):  # full batch: 1,437 images of 64 pixels
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def digit_probabilities(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Return softmax(model(X)) for every image, [N, num_classes], computed once in batches."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    logits = predict_logits(model, X)
    if logits.dim() != 2 or len(logits) != len(X):
        raise ValueError(f"model must return logits of shape [N, num_classes], got {list(logits.shape)}")
    return logits.softmax(dim=1)


def _as_images(dataset: Any) -> tuple[torch.Tensor, torch.Tensor, list[str] | None]:
    """Return (X, y, class names) from an (X, y) tuple of tensors or a Dataset of (tensor, label)."""
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        X, y = dataset
        names = None
    elif isinstance(dataset, Dataset):
        (X, y), names = dataset_to_tensors(dataset), getattr(dataset, "classes", None)
    else:
        raise TypeError(f"dataset must be an (X, y) tuple of tensors or a Dataset, got {type(dataset).__name__}")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("dataset must hold tensors: X [N, 1, H, W] images and y [N] class indices")
    if X.dim() not in (3, 4) or (X.dim() == 4 and X.shape[1] not in (1, 3)) or y.dim() != 1 or len(X) != len(y):
        raise ValueError(f"dataset must be X [N, 1, H, W] (or [N, H, W]) and y [N], got {list(X.shape)} "
                         f"and {list(y.shape)}")
    return X, y, names


def _picture(image: torch.Tensor) -> Any:
    """Return one image as a NumPy array [H, W] (grey) or [H, W, 3] (colour) for imshow."""
    image = image.detach().cpu().float()
    if image.dim() == 3:
        image = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
    return image.numpy()


def digit_compute(probs: torch.Tensor, y: torch.Tensor, names: list[str], index: int) -> dict:
    """The numbers behind one view: true and predicted class, the probabilities, a message."""
    p = probs[index]
    pred, label = int(p.argmax()), int(y[index])
    verdict = "right" if pred == label else "<b>wrong</b>"
    return {"index": index, "probs": p, "pred": pred, "label": label,
            "message": f"Image {index}: true class {names[label]}, predicted {names[pred]} with probability "
            f"{p[pred].item():.1%} ({verdict}). The model gets {(probs.argmax(1) == y).sum()} of {len(y)} right."}


def _digit_scene(X: torch.Tensor, names: list[str]) -> tuple[_Blitted, dict]:
    """The image panel and the bar chart, drawn once; the picture, bars, markers and titles move."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, (left, right) = _figure(2, width=3.6, height=3.4)
    grey = X.dim() == 3 or X.shape[1] == 1
    shown = left.imshow(_picture(X[0]), cmap="gray_r" if grey else None, vmin=float(X.min()), vmax=float(X.max()))
    left.set(xticks=[], yticks=[], title=" ")
    k = len(names)
    bars = right.bar(range(k), [0.0] * k, color=BAR, edgecolor="black", linewidth=0.6)
    (true_mark,) = right.plot([0], [1.04], marker="v", ms=9, c=MARK, ls="none")
    right.set(xticks=range(k), xticklabels=names, ylim=(0, 1.3), yticks=[0, 0.25, 0.5, 0.75, 1],
              xlabel="class", ylabel="probability", title=" ")
    legend = right.legend(handles=[Patch(facecolor=PICKED, hatch="//", edgecolor="black", label="predicted"),
                                   Line2D([], [], marker="v", c=MARK, ls="none", label="true class")],
                          loc="upper center", ncol=2, fontsize=8)
    moving = {"image": shown, "bars": list(bars), "true": true_mark, "ltitle": left.title, "rtitle": right.title}
    return _Blitted(fig, [shown, *bars, true_mark, left.title, right.title, legend]), moving


def digit_explorer(model: nn.Module | None = None, dataset: Any = None, *, index: int = 0) -> Explorer:
    """A slider picks an image; see it beside the model's probability for each class."""
    X, y, names = _as_images(load_digits("test") if dataset is None else dataset)
    probs = digit_probabilities(quick_digit_model() if model is None else model, X)
    names = [str(n) for n in (names or range(probs.shape[1]))]
    if int(y.max()) >= probs.shape[1] or int(y.min()) < 0:
        raise ValueError(f"labels in dataset must be 0 to {probs.shape[1] - 1}, the model's classes")
    mistakes = (probs.argmax(1) != y).nonzero().flatten().tolist()
    blitted, moving = _digit_scene(X, names)

    def draw(r: dict) -> _Blitted:
        moving["image"].set_data(_picture(X[r["index"]]))
        for i, (bar, p) in enumerate(zip(moving["bars"], r["probs"].tolist())):
            bar.set_height(p)
            bar.set_facecolor(PICKED if i == r["pred"] else BAR)
            bar.set_hatch("//" if i == r["pred"] else "")
        moving["true"].set_data([r["label"]], [1.04])
        moving["ltitle"].set_text(f"image {r['index']}: true class {names[r['label']]}")
        moving["rtitle"].set_text(f"predicted {names[r['pred']]} ({r['probs'][r['pred']].item():.0%}): "
                                  + ("right" if r["pred"] == r["label"] else "wrong"))
        return blitted

    slider = widgets.IntSlider(value=min(max(index, 0), len(X) - 1), min=0, max=len(X) - 1, description="image",
                               style=WIDE, continuous_update=True)
    button = widgets.Button(description="Next mistake", layout=widgets.Layout(width="auto"),
                            disabled=not mistakes, tooltip="jump to the next image the model gets wrong")
    explorer = Explorer("Digit explorer", f"Slide through the {len(X)} images. Bars: the model's probability for "
                        f"each class (softmax of its logits); orange and hatched: its prediction; ▼: the true "
                        f"class. {len(mistakes)} mistake(s): press the button to visit them.",
                        {"index": slider, "next": button}, lambda index: digit_compute(probs, y, names, index), draw)

    def next_mistake(_: Any) -> None:
        later = [i for i in mistakes if i > slider.value]
        slider.value = (later or mistakes)[0]

    button.on_click(next_mistake)
    explorer.mistakes = mistakes
    return explorer
