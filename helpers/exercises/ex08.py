"""Exercises for notebook 08 (datasets and dataloaders): a Dataset over a table, an epoch's batch sizes, a collate_fn."""

from __future__ import annotations

import contextlib
import operator
import sys
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset

from ._collate import Readings, check_batch, check_inputs_kept
from ._core import Exercises, Incorrect, _one_line
from ._util import call, need, replaced, shape

_ex = Exercises("ex08")
bind = _ex.bind

# a table of 10 rows, 3 feature columns, string labels: the sorted order, the order of first appearance, the rows
# where each label first appears (labels.index) and the reverse sorted order all give different class indices
_LABELS = ["small", "small", "large", "medium", "large", "large", "medium", "small", "small", "medium"]
# and one of 12 rows, 2 columns, 8 labels: a Python set's order of them is the sorted one about once in 40,000 runs
_FRUITS = ["plum", "fig", "kiwi", "apple", "lime", "date", "pear", "fig", "cherry", "apple", "plum", "kiwi"]


def _table(rows: int, columns: int) -> torch.Tensor:
    """A float table whose every value differs, so a row, a column and a slice are told apart."""
    return torch.arange(1, rows * columns + 1, dtype=torch.float32).reshape(rows, columns) / 10


def _class_index(target: object, i: int) -> int:
    """The learner's class for dataset[i] as an int (an int, a NumPy integer or a one-element integer tensor)."""
    if isinstance(target, torch.Tensor):
        need(target.numel() == 1, f"dataset[{i}] gives the class as a tensor of shape {shape(target)}: it should be "
                                  "one number, the class index of that row.")
        need(target.dtype != torch.bool, f"dataset[{i}] gives the class as a bool tensor: give the class index, the "
                                         "position of the label in self.classes.")
        need(not target.is_floating_point(), f"dataset[{i}] gives the class as {target.dtype} ({target.item()}): "
             "a class index is a whole number, int64 (make the tensor from ints, with no float()).")
        return int(target)
    need(not isinstance(target, (bool, _np_bool())), f"dataset[{i}] gives the class as {target!r}, a bool: give the "
                                                    "class index, the position of the label in self.classes.")
    need(not isinstance(target, float), f"dataset[{i}] gives the class as the float {target!r}: a class index is a "
                                        "whole number (an int or an int64 tensor).")
    try:
        return operator.index(target)  # an int, or a NumPy integer (a DataLoader turns those into int64 too)
    except TypeError:
        raise Incorrect(f"dataset[{i}] gives the class as {type(target).__name__}: give a whole number, the "
                        "position of the label in self.classes (an int or an int64 tensor).") from None


def _np_bool() -> type:
    """NumPy's bool type when NumPy is loaded (a comparison of NumPy values gives one), else bool."""
    numpy = sys.modules.get("numpy")
    return numpy.bool_ if numpy else bool


def _check_item(ds: Dataset, features: torch.Tensor, i: int) -> int:
    """dataset[i] must be (features[i], a class index); return that class index."""
    rows, cols = features.shape
    item = call(ds.__getitem__, i, case=f"For dataset[{i}]")
    need(isinstance(item, (tuple, list)) and len(item) == 2, f"dataset[{i}] should return one sample as a pair "
                                                             "(features, class index).")
    x, target = item
    if isinstance(target, torch.Tensor) and target.shape == features[i].shape and not isinstance(x, str) and (
            not isinstance(x, torch.Tensor) or x.numel() == 1):
        raise Incorrect(f"dataset[{i}] returns (class, features): a sample is (features, class index), the features "
                        "first, as LineDataset returns (x, y).")
    need(isinstance(x, torch.Tensor), f"dataset[{i}] gives features of type {type(x).__name__}: give the row, a tensor.")
    if x.shape == (rows,) and rows != cols:
        raise Incorrect(f"dataset[{i}] gives features of shape {shape(x)}: that is column {i} of the table "
                        f"(features[:, idx]), one value per row. A sample is one whole row, self.features[idx], of "
                        f"shape {shape(features[i])}.")
    if x.shape == (1, cols):
        raise Incorrect(f"dataset[{i}] gives features of shape {shape(x)}: a slice holding one row "
                        f"(features[idx:idx + 1]). Index the row itself, self.features[idx], of shape "
                        f"{shape(features[i])}: the DataLoader adds the batch dimension.")
    need(x.shape == features[i].shape, f"dataset[{i}] gives features of shape {shape(x)}, expected "
         f"{shape(features[i])}: one whole row of the table, self.features[idx].")
    if x.dtype != features.dtype:
        lost = "" if x.is_floating_point() else f" and cut off the fractions (row {i} became {x.tolist()})"
        raise Incorrect(f"dataset[{i}] gives features of dtype {x.dtype}, but the table holds {features.dtype}: you "
                        f"changed their dtype{lost}. Keep the features as they are: a model's weights are "
                        f"{features.dtype}, and a {x.dtype} batch makes nn.Linear raise (mat1 and mat2 must have the "
                        "same dtype).")
    need(torch.equal(x, features[i]), f"dataset[{i}] should hold row {i} of the table, {features[i].tolist()}; it "
                                      f"holds {x.tolist()}.")
    need(not isinstance(target, str), f"dataset[{i}] gives the label as the string {target!r}: training needs a "
                                      "class index, the position of the label in self.classes.")
    return _class_index(target, i)


def _positions(order: list[str]) -> dict[str, int]:
    """Each label's class when the classes are `order`."""
    return {label: i for i, label in enumerate(order)}


_SET_ORDER = ("the order of a Python set, list(set(labels)), which follows the strings' hashes and changes from one "
              "run of Python to the next")
# plausible wrong ways to number the labels, each named when it gives the learner's classes on every table
_MAPPINGS = [
    (lambda labels: _positions(list(dict.fromkeys(labels))), "the order in which the labels first appear in the list"),
    (lambda labels: _positions(sorted(set(labels), reverse=True)), "the reverse of the sorted order"),
    (lambda labels: {label: labels.index(label) for label in labels},
     "the row where each label first appears (labels.index)"),
    (lambda labels: _positions(list(set(labels))), _SET_ORDER),
    (lambda labels: _positions(list(set(sorted(set(labels))))), _SET_ORDER),
]


def _label_classes(got: list[int], labels: list[str]) -> dict[str, int]:
    """The learner's class of each label, which must be the same on every row that carries it."""
    for label in sorted(set(labels)):
        seen = sorted({c for c, lab in zip(got, labels) if lab == label})
        need(len(seen) == 1, f"the rows labelled {label!r} got different classes, {seen}: a label has one class "
                             "index, the same for every row that carries it.")
    return {label: c for c, label in zip(got, labels)}


def _check_classes(tables: list[tuple[dict[str, int], list[str]]]) -> None:
    """Each label's class must be its position in the sorted classes, on every table; name what else it is."""
    wrong = [(mine, labels) for mine, labels in tables if mine != _positions(sorted(set(labels)))]
    if not wrong:
        return
    mine, labels = wrong[0]
    classes = sorted(set(labels))
    shown = ", ".join(f"{label!r} -> {mine[label]}" for label in classes)
    wanted = ", ".join(f"{label!r} -> {i}" for i, label in enumerate(classes))
    for seen in (tables, wrong[:1]):  # a rule that gives the classes of every table, else of the first wrong one
        for rule, name in _MAPPINGS:
            if all(got == rule(lab) for got, lab in seen):
                raise Incorrect(f"your classes are {shown}: {name}. A label's class is its position in "
                                f"self.classes, which is sorted, {classes}: {wanted}.")
    outside = [label for label in classes if not 0 <= mine[label] < len(classes)]
    if outside:
        raise Incorrect(f"the class of {outside[0]!r} is {mine[outside[0]]}, but with {len(classes)} classes an index "
                        f"runs from 0 to {len(classes) - 1}: it is the position of the label in self.classes "
                        f"{classes} ({wanted}).")
    raise Incorrect(f"your classes are {shown}; with self.classes = {classes} they should be {wanted}.")


def _check_table_dataset(TableDataset: object) -> str:
    """len, items, sorted class indices and batches on two tables of different widths."""
    need(isinstance(TableDataset, type), "`TableDataset` should be a class: class TableDataset(Dataset): ...")
    need(issubclass(TableDataset, Dataset), "`TableDataset` should subclass torch.utils.data.Dataset.")
    tables = []
    for features, labels in [(_table(10, 3), _LABELS), (_table(12, 2), _FRUITS)]:
        rows, cols = features.shape
        ds = call(TableDataset, features, labels, case=f"Creating TableDataset for a table of {rows} rows")
        need(getattr(ds, "classes", None) == sorted(set(labels)),
             f"`classes` should be the sorted label names {sorted(set(labels))}, got {getattr(ds, 'classes', None)!r}.")
        n = call(len, ds, case=f"For len(dataset) of {rows} rows")
        if n == features.numel() != rows:
            raise Incorrect(f"len(dataset) is {n}, the number of values in the table ({rows} rows x {cols} columns): "
                            "the dataset has one sample per row, len(self.features).")
        need(n == rows, f"len(dataset) is {n} for a table of {rows} rows: one sample per row.")
        tables.append((_label_classes([_check_item(ds, features, i) for i in range(rows)], labels), labels))
    _check_classes(tables)
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
         "pair `(features[i], class index)`: the row as it is (float32), and the position of `labels[i]` in "
         "`self.classes`, an int64 tensor or an int. The check indexes every row, and deals the samples with a "
         "`DataLoader`.",
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


@contextlib.contextmanager
def _dealers_watched() -> Iterator[list[str]]:
    """Note, while open, every DataLoader and BatchSampler made (they deal the batches for you)."""
    made: list[str] = []

    def watched(cls: type) -> Callable:
        real = cls.__init__

        def __init__(self: object, *args: object, **kwargs: object) -> None:
            made.append(cls.__name__)
            real(self, *args, **kwargs)
        return __init__

    with replaced(DataLoader, "__init__", watched(DataLoader)), replaced(BatchSampler, "__init__",
                                                                         watched(BatchSampler)):
        yield made


def _name_wrong_sizes(got: list[int], want: list[int], case: str, size: int, drop: bool, before: list[int]) -> None:
    """Say what a wrong list of batch sizes did (`before`: what the previous call returned)."""
    if before and len(got) > len(before) and got[:len(before)] == before:
        raise Incorrect(f"{case}, you returned {got}: it starts with the sizes of the previous call, {before}. Make "
                        "a new list in every call (a default argument such as sizes=[] is one list shared by all).")
    if 0 in got:
        raise Incorrect(f"{case}, you returned {got}: a batch of 0 samples is never dealt. When batch_size "
                        "divides the samples there is no smaller last batch.")
    if got[:-1] == want and drop:
        raise Incorrect(f"{case}, you returned {got}: drop_last=True drops the smaller last batch, "
                        f"the DataLoader deals {want}.")
    if got == want[:-1] and drop:
        raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: drop_last drops only "
                        "a batch smaller than batch_size, never a full one.")
    if got == want[:-1] and not drop:
        raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: with drop_last=False it keeps "
                        "the smaller last batch.")
    if sorted(got) == sorted(want):
        raise Incorrect(f"{case}, you returned {got}: the right sizes in another order. The DataLoader deals the full "
                        f"batches first and what is left over last, {want}.")
    if len(got) == len(want) and got[-1] == size:
        raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}: the last batch holds only "
                        "the samples left over.")
    raise Incorrect(f"{case}, you returned {got}, but the DataLoader deals {want}.")


def _check_batch_sizes(batch_sizes: object) -> str:
    """The sizes of an epoch's batches, as a real DataLoader deals them, for sizes the notebook never used."""
    need(callable(batch_sizes), "`batch_sizes` should be a function batch_sizes(n_samples, batch_size, drop_last).")
    got: list | tuple = []
    for n, size, drop in [(10, 3, False), (10, 3, True), (12, 4, False), (12, 4, True), (5, 8, False), (5, 8, True),
                          (1, 1, False), (1000, 256, False), (1000, 256, True)]:
        case = f"For {n} samples in batches of {size} with drop_last={drop}"
        before = list(got)  # what the previous call returned, before this call could change it
        with _dealers_watched() as made:
            got = call(batch_sizes, n, size, drop, case=case)
        want = [len(b) for b in DataLoader(range(n), batch_size=size, drop_last=drop)]
        if made:
            raise Incorrect(f"{case}, your function made a {made[0]} to deal the batches and counted them: the task "
                            "is to work the sizes out with arithmetic (how many full batches, what is left over), "
                            "without a DataLoader inside.")
        if isinstance(got, int) and not isinstance(got, bool):
            raise Incorrect(f"{case}, you returned the number {got}: return the list of the batches' sizes, "
                            f"here {want}.")
        need(isinstance(got, (list, tuple)), f"{case}, you returned {type(got).__name__}: return a list of sizes.")
        sizes = list(got)
        need(all(isinstance(s, int) and not isinstance(s, bool) for s in sizes), f"{case}, you returned {got}: "
                                                                                   "each size should be an int.")
        if sizes != want:
            _name_wrong_sizes(sizes, want, case, size, drop, before)
        need(isinstance(got, list), f"{case}, you returned the tuple {got}: the sizes are right, but the task asks "
                                    f"for a list, {sizes} (list(...) or [...]).")
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


def _check_pad_collate(pad_collate: object) -> str:
    """Batches of sequences of different lengths, called directly and through a DataLoader(collate_fn=...)."""
    need(callable(pad_collate), "`pad_collate` should be a function pad_collate(samples).")
    data = Readings()
    samples = [data[i] for i in (0, 1, 2)]  # lengths 2, 4, 3: the first is not the longest; 0.0 inside, at the end
    case = "For a batch of 3 samples of lengths 2, 4 and 3"
    try:
        got = pad_collate(list(samples))
    except Exception as err:  # noqa: BLE001 - the learner's error becomes a verdict
        text = str(err)
        if "stack expects each tensor to be equal size" in text:
            raise Incorrect(f"{case}, your code raised `{_one_line(err)}`: torch.stack, as default_collate does, "
                            "needs sequences of one length. Put each one into a row of zeros as long as the "
                            "longest.") from None
        if "must match the existing size" in text or "expanded size" in text:
            raise Incorrect(f"{case}, your code raised `{_one_line(err)}`: a sequence did not fit in its row. Make "
                            "the rows as long as the longest sequence of the batch (4 here), not the first.") from None
        call(pad_collate, samples, case=case)  # any other error: its own verdict
    check_inputs_kept(samples, [data[i] for i in (0, 1, 2)], case)
    check_batch(got, samples, case)
    loader = DataLoader(data, batch_size=3, collate_fn=pad_collate)
    batches = call(list, loader, case="Iterating DataLoader(dataset, batch_size=3, collate_fn=pad_collate)")
    need(len(batches) == 3, f"the DataLoader dealt {len(batches)} batches of 7 samples in batches of 3; expected 3.")
    for k, batch in enumerate(batches):
        chunk = [data[i] for i in range(3 * k, min(3 * k + 3, len(data)))]
        check_batch(batch, chunk, f"For the DataLoader's batch {k + 1} (lengths {[len(s) for s, _ in chunk]})")
    return ("each batch padded with zeros to its own longest sequence, each sequence at the start of its row, with "
            "its length and label beside it, through a DataLoader too (batches of 3, 3 and 1).")


q3 = _ex.problem(
    _check_pad_collate, names=("pad_collate",), title="A collate function for sequences of different lengths",
    transfer=True,
    task="A dataset of sensor readings: sample `i` is `(sequence, label)`, a float32 tensor whose length differs "
         "from sample to sample, and an int. `default_collate` stacks the samples of a batch, so it fails on them "
         "(`stack expects each tensor to be equal size`). Write `pad_collate(samples)` for "
         "`DataLoader(dataset, batch_size=3, collate_fn=pad_collate)`: from the list of a batch's samples, return "
         "`(padded, lengths, labels)`: `padded` a float32 tensor with one row per sample, as long as the longest "
         "sequence of this batch, each sequence at the start of its row and zeros after it; `lengths` each "
         "sequence's own length and `labels` the labels, both int64 tensors. Row `i` is `samples[i]`.",
    starter='def pad_collate(samples):\n'
            '    """(sequence, label) pairs of different lengths -> (padded [B, longest], lengths [B], labels [B])."""\n'
            '    lengths = torch.tensor(____)                  # the length of each sequence\n'
            '    padded = torch.zeros(len(samples), ____)      # one row per sample, as long as the longest\n'
            '    for i, (sequence, label) in enumerate(samples):\n'
            '        ____                                      # the sequence at the start of row i; zeros after\n'
            '    labels = torch.tensor(____)\n'
            '    return padded, lengths, labels',
    hint="The width of padded is the longest length in this batch (not in the whole dataset, not the first "
         "sample's). Each sequence fills the first places of its own row, a slice as long as the sequence; the "
         "zeros that torch.zeros put there fill the rest.",
    solution='def pad_collate(samples):\n'
             '    """(sequence, label) pairs of different lengths -> (padded [B, longest], lengths [B], labels [B])."""\n'
             '    lengths = torch.tensor([len(sequence) for sequence, label in samples])\n'
             '    padded = torch.zeros(len(samples), int(lengths.max()))\n'
             '    for i, (sequence, label) in enumerate(samples):\n'
             '        padded[i, :len(sequence)] = sequence\n'
             '    labels = torch.tensor([label for sequence, label in samples])\n'
             '    return padded, lengths, labels',
)
