"""helpers.exercises.ex08 (notebook 08): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import math

import numpy as np
import pytest
from torch.utils.data import DataLoader, Dataset

from _exercises import ExerciseModule, verdict

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


_COLLATE = ("def pad_collate(samples):\n"
            "    lengths = torch.tensor([len(sequence) for sequence, label in samples])\n"
            "    padded = torch.zeros(len(samples), int(lengths.max()))\n"
            "    for i, (sequence, label) in enumerate(samples):\n"
            "        padded[i, :len(sequence)] = sequence\n"
            "    labels = torch.tensor([label for sequence, label in samples])\n"
            "    return padded, lengths, labels\n")


class TestEx08(ExerciseModule):
    module = "ex08"
    names = {"math": math, "Dataset": Dataset, "DataLoader": DataLoader}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # q1: right on a one-column table (numel == len there), wrong on three columns
        ("q1", ("return len(self.features)", "return self.features.numel()"), "the number of values in the table"),
        ("q1", _table(targets="labels"), "gives the label as the string"),
        ("q1", _table(targets="torch.tensor([list(dict.fromkeys(labels)).index(label) for label in labels])"),
         "the order in which the labels first appear"),
        ("q1", _table(targets="torch.tensor([labels.index(label) for label in labels])"),
         "the row where each label first appears"),
        ("q1", _table(targets="torch.tensor([self.classes[::-1].index(label) for label in labels])"),
         "the reverse of the sorted order"),
        ("q1", _table(targets="torch.tensor([hash(label) % 1000 for label in labels])"), "an index runs from 0 to 2"),
        ("q1", _table(targets="[label == self.classes[0] for label in labels]"), "a bool"),
        ("q1", _table(targets="torch.tensor([i % 3 for i in range(len(labels))])"), "got different classes"),
        ("q1", _table(item="self.targets[idx], self.features[idx]"), "returns (class, features)"),
        ("q1", _table(item="self.features[:, idx], self.targets[idx]"), "that is column"),
        ("q1", _table(item="self.features[idx:idx + 1], self.targets[idx]"), "a slice holding one row"),
        ("q1", _table(targets="torch.tensor([float(self.classes.index(label)) for label in labels])"),
         "a class index is a whole number, int64"),
        ("q1", _table(item="self.features[idx].double(), self.targets[idx]"), "dtype torch.float64"),
        ("q1", _table(length="len(self.classes)"), "one sample per row"),
        # the order of a Python set: the sorted one on a run in about 240,000 for the check's two tables
        ("q1", _table(targets="torch.tensor([list(set(labels)).index(label) for label in labels])"),
         "the order of a Python set"),
        ("q1", _table(item="self.features[idx].long(), self.targets[idx]"), "cut off the fractions"),
        # q2: each right wherever the batch size divides the data, or whenever drop_last is False
        ("q2", ("if left > 0 and not drop_last:", "if not drop_last:"), "a batch of 0 samples"),
        ("q2", ("if left > 0 and not drop_last:", "if left > 0:"), "drop_last=True drops the smaller last batch"),
        ("q2", _sizes(["return [batch_size] * math.ceil(n_samples / batch_size)"]), "only the samples left over"),
        ("q2", ("    return sizes", "    return sizes[:-1] if drop_last else sizes"), "drop_last drops only"),
        ("q2", _sizes(["return math.ceil(n_samples / batch_size) if not drop_last else n_samples // batch_size"]),
         "return the list of the batches' sizes"),
        ("q2", _sizes(["return [len(b) for b in DataLoader(range(n_samples), batch_size=batch_size, "
                       "drop_last=drop_last)]"]), "without a DataLoader inside"),
        ("q2", ("    return sizes", "    return tuple(sizes)"), "the task asks for a list"),
        ("q2", "def batch_sizes(n_samples, batch_size, drop_last, sizes=[]):\n"  # one list shared by every call
               "    full, left = divmod(n_samples, batch_size)\n    sizes += [batch_size] * full\n"
               "    if left and not drop_last:\n        sizes.append(left)\n    return sizes\n",
         "starts with the sizes of the previous call"),
        # q3: each works on a batch whose first sequence is its longest, or on the whole dataset's longest
        ("q3", ("int(lengths.max())", "len(samples[0][0])"), "not the first"),
        ("q3", ("int(lengths.max())", "6"), "more than the longest sequence of this batch"),
        ("q3", ("padded[i, :len(sequence)] = sequence", "padded[i, -len(sequence):] = sequence"),
         "its sequence sits at the end"),
        ("q3", ("    lengths = torch.tensor(", "    samples = sorted(samples, key=lambda s: -len(s[0]))\n"
                "    lengths = torch.tensor("), "keep the samples in the order"),
        ("q3", ("torch.zeros(len(samples), int(lengths.max()))", "torch.zeros(len(samples), int(lengths.max()), "
                "dtype=torch.long)"), "cuts off their fractions"),
        ("q3", ("torch.zeros(len(samples), int(lengths.max()))", "torch.zeros(len(samples), int(lengths.max()), "
                "dtype=torch.float64)"), "padded is torch.float64: keep the readings' float32"),
        # right wherever no reading is 0.0: lengths counted in the padded tensor
        ("q3", ("    return padded, lengths, labels", "    return padded, padded.count_nonzero(dim=1), labels"),
         "you counted the non-zero values of each row of padded"),
        ("q3", ("    return padded, lengths, labels",
                "    nonzero = (padded != 0) * torch.arange(1, padded.shape[1] + 1)\n"
                "    return padded, nonzero.argmax(dim=1) + 1, labels"), "up to its last non-zero value"),
        ("q3", ("padded[i, :len(sequence)] = sequence",
                "padded[i, :len(sequence)] = sequence\n        sequence.zero_()"), "pad_collate changed its input"),
        ("q3", ("    return padded, lengths, labels", "    return padded, labels, lengths"), "they are swapped"),
        ("q3", ("labels = torch.tensor([label for sequence, label in samples])",
                "labels = [label for sequence, label in samples]"), "labels is a list"),
        ("q3", ("lengths = torch.tensor([len(sequence) for sequence, label in samples])",
                "lengths = torch.tensor([max(len(s) for s, _ in samples)] * len(samples))"),
         "give each sequence's own length"),
        ("q3", "def pad_collate(samples):\n    return torch.stack([s for s, _ in samples]), None, None\n",
         "needs sequences of one length"),
        ("q3", "def pad_collate(samples):\n    from torch.nn.utils.rnn import pad_sequence\n"
               "    sequences = [s for s, _ in samples]\n"
               "    return (pad_sequence(sequences), torch.tensor([len(s) for s in sequences]),\n"
               "            torch.tensor([label for _, label in samples]))\n", "batch_first=True"),
    ]


@pytest.mark.parametrize("answer", [
    _table(targets="[self.classes.index(label) for label in labels]"),  # a list of ints
    _table(targets="np.array([self.classes.index(label) for label in labels])"),  # NumPy int64 class indices
    _table(targets="torch.tensor([{c: i for i, c in enumerate(self.classes)}[label] for label in labels])"),
    _table(item="(self.features[idx], int(self.targets[idx]))"),
])
def test_right_datasets_are_accepted(answer):
    assert verdict("ex08", "q1", answer, {"Dataset": Dataset, "np": np}).state == "correct"


@pytest.mark.parametrize("answer", [
    _COLLATE,
    "def pad_collate(samples):\n    from torch.nn.utils.rnn import pad_sequence\n"
    "    sequences = [s for s, _ in samples]\n"
    "    return (pad_sequence(sequences, batch_first=True), torch.tensor([len(s) for s in sequences]),\n"
    "            torch.tensor([label for _, label in samples]))\n",
    _COLLATE.replace("int(lengths.max())", "lengths.max()"),  # a 0-d tensor as a size
    _COLLATE.replace("padded[i, :len(sequence)] = sequence", "padded[i][:len(sequence)] = sequence"),
])
def test_right_collate_functions_are_accepted(answer):
    assert verdict("ex08", "q3", answer, {}).state == "correct"
