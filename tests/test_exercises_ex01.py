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
        # found by a red-team read: True counts as 1 in Python, but it is not a size
        ("q1", ("shape_b = [1, 8]", "shape_b = [True, 8]"), "holds a truth value"),
        ("q1", ("shape_a = [8] ", "shape_a = [8.0] "), "a list of whole numbers"),
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
        # found by a red-team read: right shapes, but the dtype or the record for autograd lost on the way
        ("q2", AS_SAMPLES + "    return t.float().unsqueeze(1) if t.ndim == 1 else t.float()",
         "you returned torch.float32 instead of torch.int64"),
        ("q2", ("return t.unsqueeze(dim=1)", "return t.to(torch.float32).unsqueeze(dim=1)"),
         "4 integer class labels (int64), shape [4], you returned torch.float32"),
        ("q2", ("return t.unsqueeze(dim=1)", "return t.detach().unsqueeze(dim=1)"),
         "no longer records operations for autograd"),
        ("q2", ("\n    return t", "\n    return t.detach()"),
         "prediction of 5 samples, which records operations for autograd, shape [5, 1], what you returned no longer"),
        ("q2", ("return t.unsqueeze(dim=1)", "return torch.tensor(t.tolist()).unsqueeze(dim=1)"),
         "no longer records operations for autograd"),
        ("q2", ("return t.unsqueeze(dim=1)", "return torch.from_numpy(t.numpy()[:, None])"),
         "round trip through NumPy or a list cannot keep the record"),
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
        # found by a red-team read: reproducible and seed-dependent, but not the generator seeded with `seed`
        ("q3", ("manual_seed(seed)", "manual_seed(seed + 1)"), "not those torch.rand draws from a torch.Generator "
                                                              "seeded with 0"),
        ("q3", ("manual_seed(seed)", "manual_seed(seed * 7 + 3)"), "not a number made from it"),
        ("q3", ("torch.rand(n, 2, generator=generator)", "torch.rand(n + 1, 2, generator=generator)[1:]"),
         "but not its first 100: your function skips some"),
        ("q3", ("generator=generator)", "generator=generator, requires_grad=True)"),
         "X records operations for autograd"),
        ("q3", ("y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1",
                "y = X @ torch.tensor([[2.0], [-3.0]], requires_grad=True) + 1"), "y records operations for autograd"),
        ("q3", ("y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1", "y = (2 * X[:, 0:1] - 3 * X[:, 1:2] + 1).double()"),
         "y is torch.float64: keep the labels float32"),
    ]


@pytest.mark.parametrize("body", [
    "    return t.reshape(len(t), -1)",  # any 2-D tensor keeps its shape
    "    return t[:, None] if t.ndim == 1 else t",
    "    return t.view(-1, 1) if t.dim() == 1 else t",
    "    return t.unsqueeze(-1) if t.ndim < 2 else t.clone()",
    "    return t if t.ndim == 2 else t.unsqueeze(1)",
    "    return t.view(len(t), 1) if t.numel() == len(t) else t",  # decides by sizes, rightly for every 1-D and 2-D
])
def test_other_right_answers_to_as_samples_are_accepted(body):
    assert verdict("ex01", "q2", AS_SAMPLES + body, {}).state == "correct"


def test_shapes_written_with_numpy_or_torch_integers_are_accepted():
    code = ("import numpy as np\nshape_a = [np.int64(8)]\nshape_b = (np.int32(1), 8)\n"
            "shape_c = torch.Size([4, 3])\nshape_d = [8, 1]")
    assert verdict("ex01", "q1", code, {}).state == "correct"


MAKE = "def make_two_feature_data(n, seed):\n    generator = torch.Generator().manual_seed(seed)\n"


@pytest.mark.parametrize("body", [
    "    X = torch.rand(2, n, generator=generator).T",  # the same first 2 n draws, arranged otherwise
    "    X = torch.cat([torch.rand(n, 1, generator=generator), torch.rand(n, 1, generator=generator)], dim=1)",
    "    X = torch.stack([torch.rand(n, generator=generator), torch.rand(n, generator=generator)], dim=1)",
    "    with torch.random.fork_rng():\n        torch.manual_seed(seed)\n        X = torch.rand(n, 2)",
])
def test_other_right_answers_to_make_two_feature_data_are_accepted(body):
    code = MAKE + body + "\n    y = X @ torch.tensor([[2.0], [-3.0]]) + 1\n    return X, y"
    assert verdict("ex01", "q3", code, {}).state == "correct"
