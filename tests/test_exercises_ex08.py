"""helpers.exercises.ex08 (notebook 08): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from torch.utils.data import DataLoader, Dataset

from _exercises import ExerciseModule

_TABLE = '''class TableDataset(Dataset):
    def __init__(self, features, labels):
        self.features = features
        self.classes = sorted(set(labels))
        self.targets = {targets}

    def __len__(self):
        return {length}

    def __getitem__(self, idx):
        return {item}
'''


def _table(targets="torch.tensor([self.classes.index(label) for label in labels])", length="len(self.features)",
           item="self.features[idx], self.targets[idx]"):
    """A whole TableDataset answer with one part changed."""
    return _TABLE.format(targets=targets, length=length, item=item)


def _sizes(body):
    """A whole batch_sizes answer."""
    return "def batch_sizes(n_samples, batch_size, drop_last):\n" + "\n".join(f"    {line}" for line in body)


class TestEx08(ExerciseModule):
    module = "ex08"
    names = {"math": math, "Dataset": Dataset, "DataLoader": DataLoader}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # q1: right on a one-column table (numel == len there), wrong on three columns
        ("q1", ("return len(self.features)", "return self.features.numel()"), "the number of values in the table"),
        ("q1", _table(targets="labels"), "gives the label as the string"),
        ("q1", _table(targets="torch.tensor([list(dict.fromkeys(labels)).index(label) for label in labels])"),
         "the order the labels first appear"),
        ("q1", _table(item="self.features[:, idx], self.targets[idx]"), "one whole row"),
        ("q1", _table(item="self.features[idx:idx + 1], self.targets[idx]"), "one whole row"),
        ("q1", _table(targets="torch.tensor([float(self.classes.index(label)) for label in labels])"),
         "one whole number (int64)"),
        ("q1", _table(length="len(self.classes)"), "one sample per row"),
        # q2: each right wherever the batch size divides the data, or whenever drop_last is False
        ("q2", ("if left > 0 and not drop_last:", "if not drop_last:"), "a batch of 0 samples"),
        ("q2", ("if left > 0 and not drop_last:", "if left > 0:"), "drop_last=True drops the smaller last batch"),
        ("q2", _sizes(["return [batch_size] * math.ceil(n_samples / batch_size)"]), "only the samples left over"),
        ("q2", ("    return sizes", "    return sizes[:-1] if drop_last else sizes"), "drop_last drops only"),
        ("q2", _sizes(["return math.ceil(n_samples / batch_size) if not drop_last else n_samples // batch_size"]),
         "return the list of the batches' sizes"),
        # q3: each right when every batch has the same size, or the model one output, or no dropout
        ("q3", ("            total += errors.sum().item()\n            count += errors.numel()",
                "            total += errors.mean().item()\n            count += 1"), "plain average of the 3 batch"),
        ("q3", ("count += errors.numel()", "count += len(X)"), "count y.numel(), not len(y)"),
        ("q3", ("    model.eval()\n", ""), "still in training mode"),
        ("q3", ("errors = (model(X) - y).abs()", "errors = (model(X) - y) ** 2"), "mean *squared* error"),
        ("q3", ("return total / count", "return torch.tensor(total / count)"), "return a Python number"),
    ]
