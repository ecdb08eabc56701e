"""Exercises for notebook 08 (datasets and dataloaders): a Dataset over a table, an epoch's batch sizes, a mean error."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape

_ex = Exercises("ex08")
bind = _ex.bind

# a table of 10 rows, 3 feature columns, string labels; its first label is not the first in sorted order
_LABELS = ["small", "large", "medium", "small", "large", "large", "medium", "small", "small", "medium"]


def _table(rows: int, columns: int) -> torch.Tensor:
    """A float table whose every value differs, so a row, a column and a slice are told apart."""
    return torch.arange(rows * columns, dtype=torch.float32).reshape(rows, columns) / 10


def _check_item(ds: Dataset, features: torch.Tensor, labels: list[str], i: int) -> None:
    """dataset[i] must be (features[i], the index of labels[i] among the sorted classes)."""
    classes = sorted(set(labels))
    item = call(ds.__getitem__, i, case=f"For dataset[{i}]")
    need(isinstance(item, (tuple, list)) and len(item) == 2, f"dataset[{i}] should return one sample as a pair "
                                                             "(features, class index).")
    x, target = item
    need(isinstance(x, torch.Tensor), f"dataset[{i}] gives features of type {type(x).__name__}: give the row, a tensor.")
    need(x.shape == features[i].shape, f"dataset[{i}] gives features of shape {shape(x)}, expected "
         f"{shape(features[i])}: one whole row, self.features[idx] (not a column, not a slice of rows).")
    need(torch.equal(x, features[i]), f"dataset[{i}] should hold row {i} of the table.")
    need(not isinstance(target, str), f"dataset[{i}] gives the label as the string {target!r}: a loss needs a class "
                                      "index, the position of the label in self.classes.")
    if isinstance(target, torch.Tensor):
        need(target.numel() == 1 and not target.is_floating_point(), f"dataset[{i}] gives the class as a tensor "
             f"{target!r}: it should be one whole number (int64), what nn.CrossEntropyLoss expects.")
        target = int(target)
    need(isinstance(target, int), f"dataset[{i}] gives the class as {type(target).__name__}: give a whole number.")
    want = classes.index(labels[i])
    first_seen = list(dict.fromkeys(labels)).index(labels[i])
    if target == first_seen != want:
        raise Incorrect(f"dataset[{i}] (label {labels[i]!r}) gives class {target}, its place in the order the labels "
                        f"first appear; self.classes is sorted, {classes}, so {labels[i]!r} is class {want}.")
    need(target == want, f"dataset[{i}] (label {labels[i]!r}) gives class {target}; in self.classes {classes} it is "
                         f"class {want}.")


def _check_table_dataset(TableDataset: object) -> str:
    """len, items, sorted class indices and batches on two tables of different widths."""
    need(isinstance(TableDataset, type), "`TableDataset` should be a class: class TableDataset(Dataset): ...")
    need(issubclass(TableDataset, Dataset), "`TableDataset` should subclass torch.utils.data.Dataset.")
    for features, labels in [(_table(10, 3), _LABELS), (_table(5, 2), ["yes", "no", "no", "yes", "maybe"])]:
        rows, cols = features.shape
        ds = call(TableDataset, features, labels, case=f"Creating TableDataset for a table of {rows} rows")
        need(getattr(ds, "classes", None) == sorted(set(labels)),
             f"`classes` should be the sorted label names {sorted(set(labels))}, got {getattr(ds, 'classes', None)!r}.")
        n = call(len, ds, case=f"For len(dataset) of {rows} rows")
        if n == features.numel() != rows:
            raise Incorrect(f"len(dataset) is {n}, the number of values in the table ({rows} rows x {cols} columns): "
                            "the dataset has one sample per row, len(self.features).")
        need(n == rows, f"len(dataset) is {n} for a table of {rows} rows: one sample per row.")
        for i in range(rows):
            _check_item(ds, features, labels, i)
    ds = TableDataset(_table(10, 3), _LABELS)
    batches = call(list, DataLoader(ds, batch_size=4), case="Iterating a DataLoader(dataset, batch_size=4)")
    sizes = [(shape(X), shape(y)) for X, y in batches]
    need(sizes == [("[4, 3]", "[4]"), ("[4, 3]", "[4]"), ("[2, 3]", "[2]")], f"a DataLoader with batch_size=4 gave "
         f"(features, classes) batches shaped {sizes}, expected [4, 3] and [4] twice, then [2, 3] and [2].")
    need(batches[0][1].dtype == torch.int64, f"the batches' classes are {batches[0][1].dtype}: class indices are "
                                              "whole numbers, torch.int64.")
    return ("one sample per row, each (row of 3 features, index of its label among the sorted classes); batches of "
            "[4, 3] features and [4] class indices, on a 3-column and a 2-column table.")


q1 = _ex.problem(
    _check_table_dataset, names=("TableDataset",), title="A Dataset over a table with string labels", transfer=True,
    task="Write the class `TableDataset(features, labels)` for a table: `features` is a float tensor with one row "
         "per sample and several columns (the check uses three, then two), `labels` a list of strings such as "
         "`'small'`, `'large'`. `self.classes` holds the distinct labels in sorted order (given); item `i` is the "
         "pair `(features[i], class index)`, the class index being the position of `labels[i]` in `self.classes`, "
         "an int64 tensor or an int. The check indexes every row, and deals the samples with a `DataLoader`.",
    starter='class TableDataset(Dataset):\n'
            '    """Rows of a table with string labels: item i is (features[i], index of labels[i] in classes)."""\n'
            '\n'
            '    def __init__(self, features, labels):\n'
            '        self.features = features\n'
            '        self.classes = sorted(set(labels))   # e.g. [\'large\', \'medium\', \'small\']\n'
            '        self.targets = ____                   # one class index per row, as a tensor\n'
            '\n'
            '    def __len__(self):\n'
            '        return ____\n'
            '\n'
            '    def __getitem__(self, idx):\n'
            '        return ____',
    hint="A sample is one row. How many rows does the table have, and which of len() and numel() counts them? "
         "A loss wants numbers, not words: turn each label into its position in self.classes once, in __init__.",
    solution='class TableDataset(Dataset):\n'
             '    """Rows of a table with string labels: item i is (features[i], index of labels[i] in classes)."""\n'
             '\n'
             '    def __init__(self, features, labels):\n'
             '        self.features = features\n'
             '        self.classes = sorted(set(labels))   # e.g. [\'large\', \'medium\', \'small\']\n'
             '        self.targets = torch.tensor([self.classes.index(label) for label in labels])\n'
             '\n'
             '    def __len__(self):\n'
             '        return len(self.features)\n'
             '\n'
             '    def __getitem__(self, idx):\n'
             '        return self.features[idx], self.targets[idx]',
)


def _check_batch_sizes(batch_sizes: object) -> str:
    """The sizes of an epoch's batches, as a real DataLoader deals them, for sizes the notebook never used."""
    need(callable(batch_sizes), "`batch_sizes` should be a function batch_sizes(n_samples, batch_size, drop_last).")
    for n, size, drop in [(10, 3, False), (10, 3, True), (12, 4, False), (12, 4, True), (5, 8, False), (5, 8, True),
                          (1, 1, False), (1000, 256, False), (1000, 256, True)]:
        case = f"For {n} samples in batches of {size} with drop_last={drop}"
        got = call(batch_sizes, n, size, drop, case=case)
        want = [len(b) for b in DataLoader(range(n), batch_size=size, drop_last=drop)]
        if isinstance(got, int) and not isinstance(got, bool):
            raise Incorrect(f"{case}, you returned the number {got}: return the list of the batches' sizes, "
                            f"here {want}.")
        need(isinstance(got, (list, tuple)), f"{case}, you returned {type(got).__name__}: return a list of sizes.")
        got = list(got)
        need(all(isinstance(s, int) and not isinstance(s, bool) for s in got), f"{case}, you returned {got}: "
                                                                                 "each size should be an int.")
        if got == want:
            continue
        if 0 in got:
            raise Incorrect(f"{case}, you returned {got}: a batch of 0 samples is never dealt. When batch_size "
                            "divides the samples there is no smaller last batch.")
        if got[:-1] == want and drop:
            raise Incorrect(f"{case}, you returned {got}: drop_last=True drops the smaller last batch, "
                            f"the DataLoader deals {want}.")
        if got == want[:-1] and drop:
            raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: drop_last drops only "
                            "a batch smaller than batch_size, never a full one.")
        if len(got) == len(want) and got[-1] == size:
            raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: the last batch holds only "
                            "the samples left over.")
        raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}.")
    return ("the sizes a DataLoader deals in every case: full batches, then what is left over unless drop_last "
            "throws it away; nothing at all when drop_last meets a batch larger than the data.")


q2 = _ex.problem(
    _check_batch_sizes, names=("batch_sizes",), title="The batches of an epoch",
    task="Write `batch_sizes(n_samples, batch_size, drop_last)`: the list of the sizes of the batches a `DataLoader` "
         "deals in one epoch, e.g. `[3, 3, 3, 1]` for 10 samples in batches of 3. Work it out with arithmetic (no "
         "DataLoader inside). The check compares it with real loaders for sizes the notebook never used: sizes "
         "that divide the data and sizes that do not, with and without `drop_last`, and a batch larger than the data.",
    starter='def batch_sizes(n_samples, batch_size, drop_last):\n'
            '    """The sizes of the batches a DataLoader deals in one epoch, in order."""\n'
            '    full = ____                 # how many batches hold batch_size samples\n'
            '    left = ____                 # the samples left over after them\n'
            '    sizes = [batch_size] * full\n'
            '    if ____:\n'
            '        sizes.append(left)\n'
            '    return sizes',
    hint="Integer division counts the full batches and the remainder is what is left. When is that remainder "
         "dealt as one more batch: think of a remainder of 0, and of what drop_last asks for.",
    solution='def batch_sizes(n_samples, batch_size, drop_last):\n'
             '    """The sizes of the batches a DataLoader deals in one epoch, in order."""\n'
             '    full = n_samples // batch_size\n'
             '    left = n_samples % batch_size\n'
             '    sizes = [batch_size] * full\n'
             '    if left > 0 and not drop_last:\n'
             '        sizes.append(left)\n'
             '    return sizes',
)


def _uneven_case(outputs: int) -> tuple[nn.Module, DataLoader, torch.Tensor, torch.Tensor]:
    """A dropout model with `outputs` outputs, left in training mode, and a loader of batches of 5, 1 and 3 rows."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, outputs)).train()
    X = torch.linspace(0, 1, 9).unsqueeze(1)
    Y = torch.cat([0.7 * X + 0.3, 1 - X ** 2][:outputs], dim=1) + torch.linspace(-0.3, 0.5, 9).unsqueeze(1) ** 2
    loader = DataLoader(TensorDataset(X, Y), batch_sampler=[[0, 1, 2, 3, 4], [5], [6, 7, 8]])
    return model, loader, X, Y


def _check_mean_abs_error(mean_abs_error: object) -> str:
    """The mean of |error| over every value, eval mode, parameters untouched, batches of 5, 1 and 3 rows."""
    need(callable(mean_abs_error), "`mean_abs_error` should be a function mean_abs_error(model, loader).")
    for outputs in (1, 2):
        model, loader, X, Y = _uneven_case(outputs)
        case = f"For a model with {outputs} output{'s' if outputs > 1 else ''} and batches of 5, 1 and 3 rows"
        before = [p.detach().clone() for p in model.parameters()]
        got = call(mean_abs_error, model, loader, case=case)
        need(not isinstance(got, torch.Tensor), f"{case.lower()}, you returned a tensor: return a Python number "
                                                "(.item()).")
        need(isinstance(got, float), f"{case.lower()}, you returned {type(got).__name__}: return the mean as a Python "
                                     "number.")
        need(all(torch.equal(p, q) for p, q in zip(model.parameters(), before)),
             "the parameters changed: measuring an error must not train the model.")
        need(not model.training, "the model is still in training mode: evaluate in eval mode (model.eval()), "
                                 "or dropout changes every prediction.")
        with torch.inference_mode():
            errors = [(model(a) - b).abs() for a, b in loader]
            want = (model(X) - Y).abs().mean().item()
        plain = sum(e.mean().item() for e in errors) / len(errors)
        per_row = sum(e.sum().item() for e in errors) / len(X)
        squared = (torch.cat(errors) ** 2).mean().item()
        if close(got, plain) and not close(got, want):
            raise Incorrect(f"{case.lower()}, you returned {got:.5f}, the plain average of the 3 batch means; over "
                            f"every value it is {want:.5f}. The middle batch holds one row: weight each batch by how "
                            "many values it holds.")
        if close(got, per_row) and not close(got, want):
            raise Incorrect(f"{case.lower()}, you returned {got:.5f}: the sum of the errors divided by the {len(X)} "
                            f"rows; each row holds {outputs} values, and the mean is over all {Y.numel()} of them "
                            "(count y.numel(), not len(y)).")
        if close(got, squared) and not close(got, want):
            raise Incorrect(f"{case.lower()}, you returned {got:.5f}, the mean *squared* error; the absolute error "
                            "is |prediction - target|, .abs().")
        need(close(got, want), f"{case.lower()}, you returned {got:.5f}; the mean absolute error over every value "
                               f"is {want:.5f}.")
    return ("the mean of |prediction - target| over every value, batches of 5, 1 and 3 rows weighted by what they "
            "hold, one and two outputs, in eval mode, the model untouched.")


q3 = _ex.problem(
    _check_mean_abs_error, names=("mean_abs_error",), title="The mean absolute error over a loader",
    task="Write `mean_abs_error(model, loader)`: the mean of |prediction - target| over every value the loader deals "
         "(every row, and every output when the model has several), in eval mode and without a graph. The check "
         "uses a model with dropout, with one output and with two, and a loader whose batches hold 5, 1 and 3 rows.",
    starter='def mean_abs_error(model, loader):\n'
            '    """The mean of |prediction - target| over every value the loader deals: eval mode, no graph."""\n'
            '    model.eval()\n'
            '    total, count = 0.0, 0\n'
            '    with torch.inference_mode():\n'
            '        for X, y in loader:\n'
            '            errors = ____         # |prediction - target| for every value of this batch\n'
            '            total += ____\n'
            '            count += ____\n'
            '    return ____',
    hint="A mean over every value is (sum of all the errors) / (number of errors). Which of len(y) and y.numel() "
         "counts the values of a batch whose rows hold two outputs? And why must a batch of one row not count as "
         "much as a batch of five?",
    solution='def mean_abs_error(model, loader):\n'
             '    """The mean of |prediction - target| over every value the loader deals: eval mode, no graph."""\n'
             '    model.eval()\n'
             '    total, count = 0.0, 0\n'
             '    with torch.inference_mode():\n'
             '        for X, y in loader:\n'
             '            errors = (model(X) - y).abs()\n'
             '            total += errors.sum().item()\n'
             '            count += errors.numel()\n'
             '    return total / count',
)
