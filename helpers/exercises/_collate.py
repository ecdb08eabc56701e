"""Notebook 08's collate function for sequences of different lengths: the check's sensor readings, the right batch,
and one batch from a learner's pad_collate against it, naming what differs."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ._core import Incorrect
from ._util import need, shape

__all__ = ["Readings", "check_batch", "check_inputs_kept", "reference_collate"]


class Readings(Dataset):
    """Sensor readings of different lengths, each with a class: sample i is (a float32 sequence, an int). Some
    readings are 0.0, inside a sequence and at its end, so a length cannot be counted from the non-zero values."""

    LENGTHS, LABELS = [2, 4, 3, 6, 1, 5, 2], [1, 0, 2, 1, 0, 2, 1]
    ZEROS = {1: [1], 2: [2], 3: [1, 5], 5: [2, 3, 4]}  # sample: the positions of its readings that are 0.0

    def __len__(self) -> int:
        return len(self.LENGTHS)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        sequence = torch.arange(1, self.LENGTHS[i] + 1, dtype=torch.float32) / 4 + i
        sequence[self.ZEROS.get(i, [])] = 0.0
        return sequence, self.LABELS[i]


def reference_collate(samples: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The right answer: zeros after each sequence, as long as the batch's longest; lengths and labels as tensors."""
    lengths = torch.tensor([len(seq) for seq, _ in samples])
    padded = torch.zeros(len(samples), int(lengths.max()))
    for i, (seq, _) in enumerate(samples):
        padded[i, : len(seq)] = seq
    return padded, lengths, torch.tensor([label for _, label in samples])


def check_inputs_kept(given: list, originals: list, case: str) -> None:
    """The learner's pad_collate must leave the samples it was given as they were."""
    for i, ((seq, _), (orig, _)) in enumerate(zip(given, originals)):
        need(torch.equal(seq, orig), f"{case}, pad_collate changed its input: sample {i}'s sequence was "
                                     f"{orig.tolist()}, after your call it is {seq.tolist()}. Copy the readings into "
                                     "padded and leave the samples as they are (no in-place change such as "
                                     "sequence.zero_()): the dataset may hand out the same tensors again.")


def _check_padded(padded: object, want: torch.Tensor, case: str) -> None:
    """padded: one float32 row per sample, as long as the batch's longest sequence."""
    rows, longest = want.shape
    need(isinstance(padded, torch.Tensor), f"{case}, padded is {type(padded).__name__}: make it one tensor.")
    if padded.shape == (longest, rows) != want.shape:
        raise Incorrect(f"{case}, padded has shape {shape(padded)}: one column per sample. Make it one row per sample, "
                        f"{shape(want)} (pad_sequence puts the samples in rows with batch_first=True).")
    if padded.dim() == 2 and padded.shape[0] == rows and padded.shape[1] > longest:
        raise Incorrect(f"{case}, padded has {padded.shape[1]} columns, more than the longest "
                        f"sequence of this batch ({longest}): pad to the longest of the batch itself, or every batch "
                        "carries the zeros of the longest sequence anywhere.")
    need(padded.shape == want.shape, f"{case}, padded has shape {shape(padded)}, expected {shape(want)}: one row per "
                                     "sample, as long as the longest sequence of the batch.")
    if padded.is_floating_point():
        need(padded.dtype == torch.float32, f"{case}, padded is {padded.dtype}: keep the readings' float32 "
             f"(torch.zeros makes float32 unless told otherwise): a {padded.dtype} batch makes a float32 model raise "
             "(mat1 and mat2 must have the same dtype).")
    need(padded.dtype == torch.float32, f"{case}, padded is {padded.dtype}: the readings are float32, and an integer "
                                        "tensor cuts off their fractions. Keep float32.")


def _check_rows(padded: torch.Tensor, want: torch.Tensor, samples: list, case: str) -> None:
    """Each row: its own sample's sequence at the start, zeros after it."""
    longest = want.shape[1]
    for i, (seq, _) in enumerate(samples):
        row, n = padded[i], len(seq)
        if torch.equal(row, want[i]):
            continue
        if torch.equal(row[longest - n:], seq) and n < longest:
            raise Incorrect(f"{case}, row {i} is {row.tolist()}: its sequence sits at the end, after the padding. "
                            "Put it at the start of the row, the zeros after it.")
        matches = [j for j in range(len(samples)) if torch.equal(row, want[j])]
        if matches:
            raise Incorrect(f"{case}, row {i} holds the sequence of sample {matches[0]}: keep the samples in the order "
                            "they come, so that row i, lengths[i] and labels[i] all belong to samples[i].")
        if torch.equal(row[:n], seq):
            raise Incorrect(f"{case}, row {i} is {row.tolist()}: after its {n} readings the row should hold zeros.")
        raise Incorrect(f"{case}, row {i} is {row.tolist()}; it should start with the sequence {seq.tolist()}, then "
                        "zeros.")


def _counted_from_padded(lengths: list[int], padded: torch.Tensor) -> str | None:
    """What a wrong list of lengths counted in the padded tensor, if it is one of its non-zero counts."""
    nonzero = padded != 0
    last = torch.where(nonzero, torch.arange(1, padded.shape[1] + 1), 0).amax(dim=1)
    if lengths == nonzero.sum(dim=1).tolist():
        return "the non-zero values of each row of padded"
    if lengths == last.tolist():
        return "each row of padded up to its last non-zero value"
    return None


def _check_numbers(lengths: object, labels: object, want: tuple, samples: list, case: str) -> None:
    """lengths and labels: int64 tensors, each sequence's own length before padding and its label."""
    want_padded, want_lengths, want_labels = want
    if all(isinstance(v, torch.Tensor) for v in (lengths, labels)) and torch.equal(lengths, want_labels) and \
            torch.equal(labels, want_lengths):
        raise Incorrect(f"{case}, lengths is {lengths.tolist()} and labels is {labels.tolist()}: they are swapped. "
                        "Return (padded, lengths, labels) in that order.")
    for name, value, right in [("lengths", lengths, want_lengths), ("labels", labels, want_labels)]:
        need(isinstance(value, torch.Tensor), f"{case}, {name} is a {type(value).__name__}: make it a tensor "
                                               "(torch.tensor(...)), as default_collate does with numbers.")
        need(value.dtype == torch.int64, f"{case}, {name} is {value.dtype}: whole numbers, int64.")
        if torch.equal(value, right):
            continue
        longest, got = want_padded.shape[1], value.tolist()
        if name == "lengths" and got == [longest] * len(samples):
            raise Incorrect(f"{case}, every length is {longest}, the padded width: give each sequence's own length "
                            f"before padding, {right.tolist()}, so that a model can tell the readings from the zeros.")
        counted = _counted_from_padded(got, want_padded) if name == "lengths" else None
        if counted:
            i = next(i for i, (g, r) in enumerate(zip(got, right.tolist())) if g != r)
            raise Incorrect(f"{case}, lengths is {got}, expected {right.tolist()}: you counted {counted}, but a "
                            f"reading can be 0.0 itself (sample {i} is {samples[i][0].tolist()}). Take each length "
                            "from its sequence before padding, len(sequence).")
        raise Incorrect(f"{case}, {name} is {got}, expected {right.tolist()}.")


def check_batch(got: object, samples: list, case: str) -> None:
    """One batch from the learner's collate function against the right one, naming what differs."""
    want = reference_collate(samples)
    need(isinstance(got, (tuple, list)) and len(got) == 3, f"{case}, pad_collate returned {type(got).__name__}: "
                                                           "return three things, (padded, lengths, labels).")
    padded, lengths, labels = got
    _check_padded(padded, want[0], case)
    _check_rows(padded, want[0], samples, case)
    _check_numbers(lengths, labels, want, samples, case)
