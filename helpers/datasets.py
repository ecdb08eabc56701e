"""Stage 2b of the workflow: data on disk and in batches (a safe dataset file, Dataset and DataLoader).

A dataset file holds a dict of four tensors, `training_data`, `training_labels`, `testing_data`
and `testing_labels`: the keys of the classic pickled datasets, kept in a format that is read with
`torch.load(..., weights_only=True)`, so that reading it can never run code (`pickle.load` can).
`make_loaders` wraps Datasets in DataLoaders (the training one shuffled with its own seeded
generator); `evaluate_loss` averages a loss over a loader, weighting each batch by its size.
"""

import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from ._checks import (
    check_bool,
    check_device,
    check_fraction,
    check_int,
    check_loader,
    check_number,
    check_seed,
    model_dtype,
)
from .saving import _as_path, _atomic_save, _safe_load
from .training import _check_model_parts, _epoch_loss, _evaluator, _first

__all__ = [
    "DATASET_KEYS",
    "evaluate_loss",
    "load_tensor_dataset",
    "make_loaders",
    "make_noisy_line_dataset",
    "save_tensor_dataset",
]

DATASET_KEYS = ("training_data", "training_labels", "testing_data", "testing_labels")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_noisy_line_dataset(
    n_points: int = 500,
    train_fraction: float = 0.8,
    noise_std: float = 0.1,
    weight: float = 0.7,
    bias: float = 0.3,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Return the four-key dataset of `n_points` noisy points of y = weight * x + bias, x uniform in [0, 1)."""
    n_points = check_int("n_points", n_points, minimum=2)
    train_fraction = check_fraction("train_fraction", train_fraction)
    noise_std, seed = check_number("noise_std", noise_std), check_int("seed", seed, minimum=0)
    weight, bias = check_number("weight", weight), check_number("bias", bias)
    if noise_std < 0:
        raise ValueError(f"noise_std must be 0 or more, got {noise_std}")
    n_train = int(train_fraction * n_points)
    if not 1 <= n_train < n_points:
        raise ValueError(f"train_fraction={train_fraction} of {n_points} points leaves a set empty")
    generator = torch.Generator().manual_seed(seed)
    # drawn in float64, then rounded once to float32: every CPU then makes the very same file
    X = torch.rand(n_points, 1, generator=generator, dtype=torch.float64)
    noise = torch.randn(n_points, 1, generator=generator, dtype=torch.float64)
    X, y = X.float(), (weight * X + bias + noise_std * noise).float()
    # the x values are drawn independently, so the first n_train rows are already a random sample
    return {
        "training_data": X[:n_train].clone(),
        "training_labels": y[:n_train].clone(),
        "testing_data": X[n_train:].clone(),
        "testing_labels": y[n_train:].clone(),
    }


def _check_dataset(dataset: object, where: str, wrong_type: type[Exception]) -> dict[str, torch.Tensor]:
    """Return the dataset's four tensors, or raise naming the keys, rows or shapes that are wrong."""
    if not isinstance(dataset, Mapping):
        raise wrong_type(f"{where} must be a dict with the keys {list(DATASET_KEYS)}, got {type(dataset).__name__}")
    missing = [k for k in DATASET_KEYS if k not in dataset]
    unexpected = [k for k in dataset if k not in DATASET_KEYS]
    if missing or unexpected:
        raise ValueError(
            f"{where} must have exactly the keys {list(DATASET_KEYS)}: missing {missing}, unexpected {unexpected}"
        )
    others = {k: type(v).__name__ for k, v in dataset.items() if not isinstance(v, torch.Tensor)}
    if others:
        raise wrong_type(f"{where}: every value must be a torch.Tensor, got {others}")
    for part in ("training", "testing"):
        data, labels = dataset[f"{part}_data"], dataset[f"{part}_labels"]
        if data.dim() < 2 or labels.dim() < 1 or len(data) == 0:
            raise ValueError(
                f"{where}: {part}_data must have shape [N, features...] and {part}_labels [N, ...] with N > 0, "
                f"got {list(data.shape)} and {list(labels.shape)}"
            )
        if len(data) != len(labels):
            raise ValueError(f"{where}: {part}_data has {len(data)} rows but {part}_labels has {len(labels)}")
    for kind in ("data", "labels"):
        train, test = dataset[f"training_{kind}"], dataset[f"testing_{kind}"]
        if train.shape[1:] != test.shape[1:]:
            raise ValueError(
                f"{where}: training_{kind} and testing_{kind} must have the same shape per sample, "
                f"got {list(train.shape[1:])} and {list(test.shape[1:])}"
            )
    return {k: dataset[k] for k in DATASET_KEYS}


def save_tensor_dataset(path: str | os.PathLike, dataset: Mapping[str, torch.Tensor]) -> Path:
    """Check the four-key dataset and save it atomically with torch.save; return the path."""
    path = _as_path(path)
    tensors = _check_dataset(dataset, "dataset", TypeError)
    # clone: a slice of a larger tensor would otherwise drag the whole of it into the file
    return _atomic_save({k: v.detach().cpu().clone() for k, v in tensors.items()}, path)


def load_tensor_dataset(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a dataset file with torch.load(weights_only=True) onto the cpu and check its four tensors."""
    path = _as_path(path)
    try:
        with warnings.catch_warnings():  # a plain pickle.dump file: torch warns about its protocol, then refuses it
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            dataset = _safe_load(path, "cpu")
    except ValueError as err:  # a refused pickle: point to the dataset saver, not the model saver
        text = str(err).replace("Save a state_dict instead (helpers.save_model).",
                                "Save a dict of tensors instead (helpers.save_tensor_dataset).")
        raise ValueError(text) from None
    return _check_dataset(dataset, f"the dataset in {path}", ValueError)


def _check_sized_dataset(name: str, dataset: object) -> Dataset:
    """Return `dataset` if it is a map-style torch Dataset with at least one sample, else raise."""
    if not isinstance(dataset, Dataset) or isinstance(dataset, IterableDataset):
        raise TypeError(
            f"{name} must be a map-style torch.utils.data.Dataset such as TensorDataset(X, y), "
            f"got {type(dataset).__name__}"
        )
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError(f"{name} is empty: a DataLoader over it would yield no batches")
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) != 2:
        raise ValueError(
            f"{name} holds {len(dataset.tensors)} tensor(s) per sample; training needs (X, y) pairs: "
            "TensorDataset(X, y)"
        )
    return dataset


def make_loaders(
    train_dataset: Dataset,
    *eval_datasets: Dataset,
    batch_size: int = 32,
    seed: int | None = 0,
    drop_last: bool = False,
) -> tuple[DataLoader, ...]:
    """Return a shuffled training DataLoader and an unshuffled one for each evaluation dataset."""
    train_dataset = _check_sized_dataset("train_dataset", train_dataset)
    for i, dataset in enumerate(eval_datasets):
        _check_sized_dataset(f"eval_datasets[{i}]", dataset)
    batch_size, seed = check_int("batch_size", batch_size, minimum=1), check_seed("seed", seed)
    drop_last = check_bool("drop_last", drop_last)
    n_train = len(train_dataset)  # type: ignore[arg-type]
    if drop_last and n_train < batch_size:
        raise ValueError(
            f"drop_last=True with batch_size={batch_size} and {n_train} training samples leaves no batch at all; "
            "use a smaller batch_size"
        )

    def generator() -> torch.Generator | None:
        # each loader draws from its own generator, so iterating one never touches torch's global RNG
        return None if seed is None else torch.Generator().manual_seed(seed)

    train = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, drop_last=drop_last, generator=generator())
    # evaluation sees every sample once, in a fixed order: no shuffling, no dropped batch
    evals = [DataLoader(d, batch_size=batch_size, shuffle=False, generator=generator()) for d in eval_datasets]
    return (train, *evals)


def evaluate_loss(
    model: nn.Module, loader: DataLoader, loss_fn: LossFn, device: torch.device | str | None = None
) -> float:
    """Mean loss over a loader in eval mode under inference_mode, each batch weighted by its size."""
    _check_model_parts(model, loss_fn)
    check_loader("loader", loader)
    device = next(model.parameters(), torch.empty(0)).device if device is None else check_device("device", device)
    model.to(device)
    test = _evaluator(model, loss_fn)
    first = _first("loader", True, model_dtype(model), device, test)
    # _epoch_loss sums loss * batch size and divides by the number of samples: right for mean losses
    return _epoch_loss(test, loader, device, first).item()
