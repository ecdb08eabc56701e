"""Exercises for notebook 08 (datasets and dataloaders): a Dataset, batches per epoch, a weighted mean loss."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape

_ex = Exercises("ex08")
bind = _ex.bind


def _check_dataset(PairDataset: object) -> str:
    """len, items of shape [1] and a DataLoader that deals every sample once."""
    need(isinstance(PairDataset, type), "`PairDataset` should be a class: class PairDataset(Dataset): ...")
    need(issubclass(PairDataset, Dataset), "`PairDataset` should subclass torch.utils.data.Dataset.")
    X = torch.arange(7, dtype=torch.float32).unsqueeze(1)
    y = 0.7 * X + 0.3
    ds = call(PairDataset, X, y, case="Creating PairDataset(X, y) for 7 samples")
    n = call(len, ds, case="For len(dataset)")
    need(n == 7, f"len(dataset) is {n} for 7 samples: __len__ should return len(self.X).")
    item = call(ds.__getitem__, 3, case="For dataset[3]")
    need(isinstance(item, (tuple, list)) and len(item) == 2, "dataset[3] should return one sample as a pair (x, y).")
    x3, y3 = item
    need(isinstance(x3, torch.Tensor) and isinstance(y3, torch.Tensor), "dataset[3] should be a pair of tensors.")
    need(x3.shape == (1,) and y3.shape == (1,), f"dataset[3] gives x of shape {shape(x3)} and y of shape {shape(y3)}, "
         "expected [1] and [1]: one row, self.X[idx], not the whole tensor.")
    need(close(x3, X[3]) and close(y3, y[3]), "dataset[3] should be (X[3], y[3]), the fourth sample.")
    batches = call(list, DataLoader(ds, batch_size=3), case="Iterating a DataLoader(dataset, batch_size=3)")
    sizes = [list(b[0].shape) for b in batches]
    need(sizes == [[3, 1], [3, 1], [1, 1]], f"a DataLoader with batch_size=3 gave batches of X shaped {sizes}, "
                                            "expected [3, 1], [3, 1], [1, 1].")
    need(torch.equal(torch.cat([b[0] for b in batches]), X), "the DataLoader did not deal every sample once, in order.")
    return "len() and [i] as a DataLoader expects: 7 samples of shape [1], batched into [3, 1], [3, 1], [1, 1]."


q1 = _ex.problem(
    _check_dataset, names=("PairDataset",), title="A Dataset by hand",
    task="Write the class `PairDataset(X, y)`: a map-style `Dataset` whose `len()` is the number of rows and whose "
         "item `i` is the pair `(X[i], y[i])`. The check builds one of 7 samples, indexes it, and deals it out "
         "with a `DataLoader`.",
    starter='class PairDataset(Dataset):\n'
            '    """(x, y) pairs from two tensors, one sample per index."""\n'
            '\n'
            '    def __init__(self, X, y):\n'
            '        self.X, self.y = X, y\n'
            '\n'
            '    def __len__(self):\n'
            '        return ____\n'
            '\n'
            '    def __getitem__(self, idx):\n'
            '        return ____',
    hint="__len__ returns len(self.X); __getitem__ returns self.X[idx], self.y[idx]: one row of each, shape [1].",
    solution='class PairDataset(Dataset):\n'
             '    """(x, y) pairs from two tensors, one sample per index."""\n'
             '\n'
             '    def __init__(self, X, y):\n'
             '        self.X, self.y = X, y\n'
             '\n'
             '    def __len__(self):\n'
             '        return len(self.X)\n'
             '\n'
             '    def __getitem__(self, idx):\n'
             '        return self.X[idx], self.y[idx]',
)


def _check_batches(batches_per_epoch: object) -> str:
    """The same count as len(DataLoader(...)) with and without drop_last."""
    need(callable(batches_per_epoch), "`batches_per_epoch` should be a function "
                                      "batches_per_epoch(n_samples, batch_size, drop_last).")
    for n, size, drop in [(320, 32, False), (320, 48, False), (320, 48, True), (100, 32, False), (100, 32, True),
                          (5, 10, False), (5, 10, True), (1, 1, False)]:
        case = f"For {n} samples in batches of {size} with drop_last={drop}"
        got = call(batches_per_epoch, n, size, drop, case=case)
        want = len(DataLoader(range(n), batch_size=size, drop_last=drop))
        need(isinstance(got, int) and not isinstance(got, bool), f"{case}, you returned {got!r}: return a whole "
                                                                   "number of batches, an int.")
        if got == n // size and got != want:
            raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: without drop_last, the "
                            "samples left over make one more, smaller batch (round up, math.ceil).")
        if got == math.ceil(n / size) and got != want:
            raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: drop_last=True drops "
                            "the smaller last batch (round down, //).")
        need(got == want, f"{case}, you returned {got}, but len(DataLoader(...)) is {want}.")
    return "the same count as len(DataLoader(...)) in every case: ⌈N / B⌉, or ⌊N / B⌋ with drop_last."


q2 = _ex.problem(
    _check_batches, names=("batches_per_epoch",), title="Batches per epoch",
    task="Write `batches_per_epoch(n_samples, batch_size, drop_last)`: how many batches a `DataLoader` deals per "
         "epoch. The check compares it with `len(DataLoader(...))` for batch sizes that divide the data and "
         "sizes that do not, with and without `drop_last`, and a batch larger than the data.",
    starter='def batches_per_epoch(n_samples, batch_size, drop_last):\n'
            '    """The number of batches a DataLoader deals in one epoch."""\n'
            '    if drop_last:\n'
            '        return ____\n'
            '    return ____',
    hint="n_samples // batch_size counts the full batches; math.ceil(n_samples / batch_size) also counts a smaller "
         "last batch, which drop_last=True throws away.",
    solution='def batches_per_epoch(n_samples, batch_size, drop_last):\n'
             '    """The number of batches a DataLoader deals in one epoch."""\n'
             '    if drop_last:\n'
             '        return n_samples // batch_size\n'
             '    return math.ceil(n_samples / batch_size)',
)


def _check_average_loss(average_loss: object) -> str:
    """The mean over samples (batch means weighted by size), eval mode, no training."""
    need(callable(average_loss), "`average_loss` should be a function average_loss(model, loader, loss_fn).")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1)).train()
    X = torch.linspace(0, 1, 10).unsqueeze(1)
    y = 0.7 * X + 0.3 + torch.linspace(-0.2, 0.6, 10).unsqueeze(1) ** 2
    loader, loss_fn = DataLoader(TensorDataset(X, y), batch_size=4), nn.MSELoss()
    before = [p.detach().clone() for p in model.parameters()]
    got = call(average_loss, model, loader, loss_fn, case="For 10 samples in batches of 4, 4 and 2")
    need(not isinstance(got, torch.Tensor), "you returned a tensor: return a Python number (.item()).")
    need(isinstance(got, float), f"you returned {type(got).__name__}: return the mean loss as a Python number.")
    need(all(torch.equal(p, q) for p, q in zip(model.parameters(), before)), "the parameters changed: measuring a "
         "loss must not train the model.")
    need(not model.training, "the model is still in training mode: evaluate in eval mode (model.eval()).")
    with torch.inference_mode():
        want = loss_fn(model(X), y).item()
        plain = sum(loss_fn(model(a), b).item() for a, b in loader) / len(loader)
    need(not (close(got, plain) and not close(got, want)), f"you returned {got:.5f}, the plain average of the 3 "
         f"batch means; over all 10 samples the mean is {want:.5f}. The last batch holds only 2 samples: weight each "
         "batch mean by its size, len(X), and divide by the number of samples.")
    need(close(got, want), f"you returned {got:.5f}; the mean loss over all 10 samples is {want:.5f}.")
    return "the true mean over every sample (batch means weighted by batch size), in eval mode, the model untouched."


q3 = _ex.problem(
    _check_average_loss, names=("average_loss",), title="The mean loss over a loader",
    task="Write `average_loss(model, loader, loss_fn)`: the mean loss over every sample the loader deals, in eval "
         "mode and without a graph, each batch's mean weighted by its size (Try it 2 is about this). The check "
         "uses 10 samples in batches of 4, 4 and 2, and a model with dropout.",
    starter='def average_loss(model, loader, loss_fn):\n'
            '    """The mean loss over every sample in loader: eval mode, no graph, batches weighted by size."""\n'
            '    model.eval()\n'
            '    total, count = 0.0, 0\n'
            '    with torch.inference_mode():\n'
            '        for X, y in loader:\n'
            '            total += ____\n'
            '            count += ____\n'
            '    return ____',
    hint="loss_fn returns the batch's mean; times len(X) it is the batch's sum. Add those sums up, count the "
         "samples, and divide at the end.",
    solution='def average_loss(model, loader, loss_fn):\n'
             '    """The mean loss over every sample in loader: eval mode, no graph, batches weighted by size."""\n'
             '    model.eval()\n'
             '    total, count = 0.0, 0\n'
             '    with torch.inference_mode():\n'
             '        for X, y in loader:\n'
             '            total += loss_fn(model(X), y).item() * len(X)\n'
             '            count += len(X)\n'
             '    return total / count',
)
