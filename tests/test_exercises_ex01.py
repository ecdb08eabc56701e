"""helpers.exercises.ex01 (notebook 01): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import pytest

from _exercises import ExerciseModule, verdict

AS_SAMPLES = 'def as_samples(t):\n    """One row per sample."""\n'


class TestEx01(ExerciseModule):
    module = "ex01"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("shape_a = [8] ", "shape_a = [7] "), "count again"),
        ("q1", ("shape_a = [8] ", "shape_a = [8, 1] "), "arange makes a flat tensor"),
        ("q1", ("shape_b = [1, 8]", "shape_b = [8, 1]"), "*first*"),
        ("q1", ("shape_c = [4, 3]", "shape_c = [4, 1]"), "raises no error, it broadcasts"),
        ("q1", ("shape_c = [4, 3]", "shape_c = [3, 4]"), "right but swapped"),
        ("q1", ("shape_d = [8, 1]", "shape_d = [8]"), "keeps one row per sample"),
        # "it raises an error, so there is no shape": the broadcasting rule in the answer
        ("q1", ("shape_c = [4, 3]", "shape_c = None"), "raises no error: it gives a tensor"),
        # always adding a dimension, as the notebook's cell did for the flat labels
        ("q2", AS_SAMPLES + "    return t.unsqueeze(dim=1)", "got a third dimension"),
        ("q2", ("t.unsqueeze(dim=1)", "t.unsqueeze(dim=0)"), "one sample with 50 features"),
        # agrees on every column of the notebook, scrambles a table with three features
        ("q2", AS_SAMPLES + "    return t.reshape(-1, 1)", "must come back unchanged"),
        # decides by size, not by the number of dimensions: right for the notebook's [50] and [50, 1]
        ("q2", ("if t.ndim == 1:", "if t.shape[-1] != 1:"), "you returned [1], expected [1, 1]"),
        ("q2", ("if t.ndim == 1:", "if t.ndim == 1 or t.shape[-1] != 1:"), "got a third dimension"),
        ("q2", AS_SAMPLES + "    return t.squeeze().unsqueeze(dim=1)", "1 label, shape [1], your code raised"),
        ("q2", AS_SAMPLES + "    return t", "expected [50, 1]"),
        # found by a learner: right for every flat tensor and column, turns one sample of 3 features into 3 samples
        ("q2", AS_SAMPLES + "    if t.ndim == 1 or t.shape[0] == 1:\n        return t.reshape(-1, 1)\n    return t",
         "1 sample with 3 features, shape [1, 3], you returned [3, 1]"),
        # found by a learner: the right shapes, but the caller's tensor is changed in place
        ("q2", ("return t.unsqueeze(dim=1)", "return t.unsqueeze_(dim=1)"), "changed the tensor it was given"),
        ("q3", ("y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1", "y = X @ torch.tensor([2.0, -3.0]) + 1"), "a flat tensor"),
        ("q3", ("torch.rand(n, 2, generator=generator)", "torch.rand(2, n, generator=generator)"),
         "2 samples with 50 features"),
        ("q3", ("    generator = torch.Generator().manual_seed(seed)\n",
                "    torch.manual_seed(seed)\n    generator = None\n"), "global random numbers"),
        ("q3", ("y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1", "y = 2 * X[:, 1:2] - 3 * X[:, 0:1] + 1"), "wrong way round"),
        ("q3", ("y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1", "y = 2 * X[:, 0:1] - 3 * X[:, 1:2]"), "the + 1 is missing"),
        ("q3", ("torch.rand(n, 2, generator=generator)", "torch.randn(n, 2, generator=generator)"),
         "outside [0, 1)"),
        ("q3", ("manual_seed(seed)", "manual_seed(0)"), "seeds 0 and 1 gave the same data"),
        ("q3", ("torch.rand(n, 2, generator=generator)", "torch.rand(n, 1, generator=generator).repeat(1, 2)"),
         "both features hold the same numbers"),
    ]


@pytest.mark.parametrize("body", [
    "    return t.reshape(len(t), -1)",  # any 2-D tensor keeps its shape
    "    return t[:, None] if t.ndim == 1 else t",
    "    return t.view(-1, 1) if t.dim() == 1 else t",
    "    return t.unsqueeze(-1) if t.ndim < 2 else t.clone()",
])
def test_other_right_answers_to_as_samples_are_accepted(body):
    assert verdict("ex01", "q2", AS_SAMPLES + body, {}).state == "correct"
