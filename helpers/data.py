"""Stage 1 and 2 of the workflow: make the straight-line data, split it, and keep it in a CSV file."""

import os
import struct
from pathlib import Path

import torch

from ._checks import check_fraction, check_number, check_pair, check_path, check_save_path, check_seed

__all__ = [
    "make_line_data",
    "train_test_split",
    "train_val_test_split",
    "save_line_csv",
    "load_line_csv",
]

MAX_POINTS = 1_000_000


def make_line_data(
    weight: float = 0.7,
    bias: float = 0.3,
    start: float = 0.0,
    end: float = 1.0,
    step: float = 0.02,
    noise_std: float = 0.0,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y), float32 of shape [N, 1], with y = weight * X + bias (+ Gaussian noise)."""
    weight, bias = check_number("weight", weight), check_number("bias", bias)
    start, end, step = check_number("start", start), check_number("end", end), check_number("step", step)
    noise_std, seed = check_number("noise_std", noise_std), check_seed("seed", seed)
    if step <= 0:
        raise ValueError(f"step must be greater than 0, got {step}")
    if end <= start:
        raise ValueError(f"end must be greater than start, got start={start}, end={end}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be 0 or more, got {noise_std}")
    if (end - start) / step > MAX_POINTS:
        raise ValueError(f"start, end and step give more than {MAX_POINTS:,} points; use a larger step")
    X = torch.arange(start, end, step, dtype=torch.float32).unsqueeze(dim=1)
    y = weight * X + bias
    if noise_std > 0:
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        y = y + noise_std * torch.randn(X.shape, generator=generator)
    return X, y


def _order(n: int, shuffle: bool, seed: int | None) -> torch.Tensor:
    """Return the row order for a split: 0..n-1, or a (seeded) random permutation."""
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    seed = check_seed("seed", seed)
    if not shuffle:
        return torch.arange(n)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)


def train_test_split(
    X: torch.Tensor,
    y: torch.Tensor,
    train_fraction: float = 0.8,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split rows into (X_train, y_train, X_test, y_test); ordered unless shuffle=True."""
    X, y = check_pair("X", X, "y", y)
    train_fraction = check_fraction("train_fraction", train_fraction)
    n_train = int(train_fraction * len(X))
    if n_train < 1 or n_train >= len(X):
        raise ValueError(
            f"train_fraction={train_fraction} of {len(X)} rows leaves {n_train} for training and "
            f"{len(X) - n_train} for testing; both sets need at least one row"
        )
    order = _order(len(X), shuffle, seed)
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


def train_val_test_split(
    X: torch.Tensor,
    y: torch.Tensor,
    train_fraction: float = 0.6,
    val_fraction: float = 0.2,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split rows into (X_train, y_train, X_val, y_val, X_test, y_test); the test set gets the rest."""
    X, y = check_pair("X", X, "y", y)
    train_fraction = check_fraction("train_fraction", train_fraction)
    val_fraction = check_fraction("val_fraction", val_fraction)
    if train_fraction + val_fraction >= 1:
        raise ValueError(
            "train_fraction + val_fraction must be less than 1 so that some rows are left for testing, "
            f"got {train_fraction} + {val_fraction}"
        )
    n_train, n_val = int(train_fraction * len(X)), int(val_fraction * len(X))
    sizes = {"training": n_train, "validation": n_val, "testing": len(X) - n_train - n_val}
    empty = [name for name, size in sizes.items() if size < 1]
    if empty:
        raise ValueError(f"{len(X)} rows split {sizes} leave no rows for {', '.join(empty)}; use more data")
    order = _order(len(X), shuffle, seed)
    train, val, test = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    return X[train], y[train], X[val], y[val], X[test], y[test]


def _shortest_float32(value: float) -> str:
    """Return the shortest decimal text that reads back as the same float32 value."""
    exact = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{exact:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == exact:
            return text
    return repr(exact)


def save_line_csv(path: str | os.PathLike, X: torch.Tensor, y: torch.Tensor) -> Path:
    """Write one-feature data as a two-column CSV (header `x,y`) that reads back bit-for-bit."""
    X, y = check_pair("X", X, "y", y)
    if X.shape[1:] not in ((), (1,)) or y.shape[1:] not in ((), (1,)):
        raise ValueError(f"X and y must have shape [N] or [N, 1], got {list(X.shape)} and {list(y.shape)}")
    path = check_save_path("path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = zip(X.detach().cpu().reshape(-1).tolist(), y.detach().cpu().reshape(-1).tolist())
    lines = ["x,y"] + [f"{_shortest_float32(a)},{_shortest_float32(b)}" for a, b in rows]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_line_csv(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a CSV written by save_line_csv into (X, y), float32 of shape [N, 1]."""
    path = check_path("path", path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a data file: give the path of the CSV file in it")
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file (a CSV written by save_line_csv is plain text)") from None
    if not lines or lines[0].strip().lower() != "x,y":
        raise ValueError(f"{path}: the first line must be the header 'x,y'")
    xs, ys = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected two numbers 'x,y', got {line!r}") from None
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError(f"{path} has a header but no rows")
    return torch.tensor(xs).unsqueeze(1), torch.tensor(ys).unsqueeze(1)
