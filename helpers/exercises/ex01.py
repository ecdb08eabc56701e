"""Exercises for notebook 01 (data): shapes predicted before running, a function that makes any input 2-D, and
data with two features (transfer)."""

from __future__ import annotations

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape, tensor, whole

_ex = Exercises("ex01")
bind = _ex.bind

# the four expressions of q1, written as the learner reads them, and computed the same way
_EXPRESSIONS = {
    "shape_a": ("torch.arange(0, 2, 0.25)", lambda: torch.arange(0, 2, 0.25)),
    "shape_b": ("torch.arange(0, 2, 0.25).unsqueeze(dim=0)", lambda: torch.arange(0, 2, 0.25).unsqueeze(dim=0)),
    "shape_c": ("torch.zeros(4, 1) - torch.zeros(3)", lambda: torch.zeros(4, 1) - torch.zeros(3)),
    "shape_d": ("nn.Linear(1, 1)(torch.zeros(8, 1))", lambda: nn.Linear(1, 1)(torch.zeros(8, 1))),
}


def _as_shape(name: str, value: object) -> list[int]:
    """A shape written as a list (or tuple, or torch.Size) of whole numbers, else Incorrect."""
    need(isinstance(value, (list, tuple)), f"`{name}` should be a shape written as a list of whole numbers, like "
                                           f"[50, 1]; got {value!r}.")
    need(not any(isinstance(v, bool) for v in value), f"`{name}` = {value!r} holds a truth value (True or False), "
         "not a size: write each size as a whole number, like [50, 1].")
    sizes = [whole(v) for v in value]
    need(None not in sizes, f"`{name}` should be a shape written as a list of whole numbers, like [50, 1]; "
                            f"got {value!r}.")
    return sizes


def _check_shapes(shape_a: object, shape_b: object, shape_c: object, shape_d: object) -> str:
    """Each predicted shape equals the shape the expression really has."""
    given = {"shape_a": shape_a, "shape_b": shape_b, "shape_c": shape_c, "shape_d": shape_d}
    for name, (text, make) in _EXPRESSIONS.items():
        if given[name] is None:  # "it raises an error, so there is no shape"
            why = (" Shapes that differ broadcast: line them up from the right, and each dimension of size 1 (or "
                   "missing) is stretched to match the other." if name == "shape_c" else "")
            raise Incorrect(f"`{name}` is None, but `{text}` raises no error: it gives a tensor. Write its shape as "
                            f"a list.{why}")
        got, want = _as_shape(name, given[name]), list(make().shape)
        if got == want:
            continue
        if name == "shape_a" and len(got) == 1:
            raise Incorrect(f"`{name}` = {got}: count again. arange starts at 0 and stops *before* its end (2), "
                            "one step of 0.25 at a time.")
        if name == "shape_a":
            raise Incorrect(f"`{name}` = {got}, but `{text}` has one dimension: arange makes a flat tensor; "
                            "only unsqueeze adds a dimension.")
        if name == "shape_b":
            raise Incorrect(f"`{name}` = {got}: unsqueeze(dim=0) puts the new dimension of size 1 *first*, in front "
                            "of the existing one.")
        if name == "shape_c" and got == want[::-1]:
            raise Incorrect(f"`{name}` = {got}: the sizes are right but swapped. Broadcasting lines the shapes up "
                            "from the right: which tensor gives the rows, which the columns?")
        if name == "shape_c":
            raise Incorrect(f"`{name}` = {got}: `{text}` raises no error, it broadcasts. Line the shapes up from the "
                            "right; each dimension of size 1 (or missing) is stretched to match the other tensor.")
        raise Incorrect(f"`{name}` = {got}: nn.Linear(1, 1) keeps one row per sample and gives `out_features` "
                        "numbers for each one.")
    return ("all four shapes right: arange counts up to (not including) its end, unsqueeze adds a dimension of "
            "size 1 where you say, and shapes that differ broadcast into a table without a word.")


q1 = _ex.problem(
    _check_shapes, names=("shape_a", "shape_b", "shape_c", "shape_d"), title="Predict the shapes",
    task="Without running anything, write the shape of each result as a list, e.g. `[50, 1]`: "
         "(a) `torch.arange(0, 2, 0.25)`, (b) `torch.arange(0, 2, 0.25).unsqueeze(dim=0)`, "
         "(c) `torch.zeros(4, 1) - torch.zeros(3)`, (d) `nn.Linear(1, 1)(torch.zeros(8, 1))`. "
         "Check, then confirm by printing each `.shape`.",
    starter="shape_a = ____  # torch.arange(0, 2, 0.25)\n"
            "shape_b = ____  # torch.arange(0, 2, 0.25).unsqueeze(dim=0)\n"
            "shape_c = ____  # torch.zeros(4, 1) - torch.zeros(3)\n"
            "shape_d = ____  # nn.Linear(1, 1)(torch.zeros(8, 1))",
    hint="(a) arange never reaches its end value. (b) the dim you pass is the position the new size-1 dimension "
         "takes. (c) line the two shapes up from the right: a dimension of size 1, or a missing one, is stretched. "
         "(d) a layer keeps one row per sample.",
    solution="shape_a = [8]      # 0, 0.25, ..., 1.75\n"
             "shape_b = [1, 8]   # one sample with 8 features\n"
             "shape_c = [4, 3]   # broadcast: [4, 1] against [3] -> every row against every column\n"
             "shape_d = [8, 1]   # 8 samples, 1 output each",
)


def _check_graph_kept(out: torch.Tensor, given: torch.Tensor, weight: torch.Tensor, case: str) -> None:
    """A tensor that records operations for autograd comes back still linked to the parameter it came from."""
    if not given.requires_grad:
        return
    need(out.requires_grad, f"{case}, what you returned no longer records operations for autograd (its "
                            "requires_grad is False): .detach(), torch.tensor(...) or .tolist() drop that record, so "
                            "training could never work back from it to the model's parameters. Change only the shape.")
    grad = torch.autograd.grad(out.sum(), weight, allow_unused=True)[0]
    need(grad is not None and close(grad, given.detach().sum() / weight.detach()),
         f"{case}, autograd's record from what you returned back to the model's parameter is wrong: change only "
         "the shape.")


def _check_as_samples(as_samples: object) -> str:
    """Flat tensors become columns; 2-D tensors (one feature column or several) stay as they are."""
    need(callable(as_samples), "`as_samples` should be a function as_samples(t).")
    weight = torch.tensor(0.5, requires_grad=True)  # a model's parameter: its predictions require grad
    cases = [(torch.arange(50.0) / 10, "a flat tensor of 50 labels"), (torch.arange(1.0), "a flat tensor of 1 label"),
             (torch.arange(50.0).unsqueeze(1) / 10, "a column of 50 samples"),
             (torch.arange(1.0).unsqueeze(1), "a column of 1 sample"),
             (torch.arange(30.0).reshape(10, 3), "a table of 10 samples with 3 features"),
             (torch.arange(3.0).reshape(1, 3), "a table of 1 sample with 3 features"),
             (torch.tensor([2, 0, 1, 2]), "a flat tensor of 4 integer class labels (int64)"),
             (torch.tensor([[3, 1], [0, 2], [1, 1]]), "a table of 3 samples with 2 integer features (int64)"),
             (weight * torch.arange(5.0),
              "a model's flat prediction of 5 values, which records operations for autograd"),
             (weight * torch.arange(5.0).unsqueeze(1),
              "a model's prediction of 5 samples, which records operations for autograd")]
    for t, what in cases:
        case = f"For {what}, shape {shape(t)}"
        want = t.unsqueeze(1) if t.ndim == 1 else t
        given = t.clone()
        try:
            out = tensor(f"as_samples(t) for shape {shape(t)}", call(as_samples, given, case=case))
        except Incorrect as err:
            need("requires grad" not in str(err).partition("your code raised")[2],
                 f"{err} A round trip through NumPy or a list cannot keep the record for autograd (and .detach() "
                 "would drop it): change the shape of the tensor itself.")
            raise
        need(given.shape == t.shape and torch.equal(given, t), f"{case}, your function changed the tensor it was "
             f"given into shape {shape(given)} (an in-place method, with a trailing _ such as unsqueeze_): the "
             "caller's tensor must stay as it was. Return a new tensor instead.")
        if out.shape == want.shape:
            need(close(out, want), f"{case}, the values changed: only the shape may change, not the numbers or "
                                   "their order.")
            need(out.dtype == t.dtype, f"{case}, you returned {out.dtype} instead of {t.dtype}: only the shape "
                                       "may change, so integer labels stay integers (no .float(), no torch.tensor "
                                       "of a list).")
            _check_graph_kept(out, given, weight, case)
            continue
        if t.ndim == 1:
            need(out.shape != (1, len(t)) or len(t) == 1, f"{case}, you returned {shape(out)}: one sample with "
                 f"{len(t)} features. A flat tensor of labels needs one row per sample.")
            raise Incorrect(f"{case}, you returned {shape(out)}, expected {shape(want)}: one row per sample, "
                            "one column.")
        need(out.ndim != 3, f"{case}, you returned {shape(out)}: a tensor that is already 2-D got a third "
                            "dimension. Leave 2-D tensors as they are.")
        raise Incorrect(f"{case}, you returned {shape(out)}, expected {shape(t)}: a 2-D tensor already has one row "
                        "per sample (and its features in the columns), so it must come back unchanged.")
    return ("flat labels become a column, and any 2-D tensor, one feature or three, keeps its shape: "
            "`as_samples(y_flat) - y` is [50, 1], never a [50, 50] table.")


q2 = _ex.problem(
    _check_as_samples, names=("as_samples",), title="One row per sample, whatever comes in",
    task="Write `as_samples(t)`: a flat `[N]` tensor comes back as a column `[N, 1]`; a 2-D tensor, whether it "
         "has one feature column (`[N, 1]`) or several (`[N, 3]`), comes back as it is. With it, "
         "`as_samples(y_flat) - y` cannot broadcast into a table by surprise. Only the shape may change: the "
         "numbers, their dtype (integer labels stay integers) and the record for autograd (a model's prediction "
         "that records operations, `requires_grad=True`, still does) stay as they were. The check tries flat "
         "tensors, columns and tables of three features, of several sizes (one sample too), integer labels and "
         "predictions that record operations, and that the tensor you are given is left as it was.",
    starter='def as_samples(t):\n'
            '    """Return t with one row per sample: a flat [N] becomes [N, 1]; a 2-D tensor stays as it is."""\n'
            '    if ____:\n'
            '        return ____\n'
            '    return ____',
    hint="Decide by the number of dimensions, not by the size. A flat tensor needs one new dimension at the "
         "right position; anything already 2-D is returned untouched (a reshape would scramble a table that has "
         "several feature columns).",
    solution='def as_samples(t):\n'
             '    """Return t with one row per sample: a flat [N] becomes [N, 1]; a 2-D tensor stays as it is."""\n'
             '    if t.ndim == 1:\n'
             '        return t.unsqueeze(dim=1)\n'
             '    return t',
)


def _pair(out: object, case: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The function's (X, y), or Incorrect."""
    need(isinstance(out, (tuple, list)) and len(out) == 2, f"{case}, return two tensors: X, y.")
    return tensor("X", out[0]), tensor("y", out[1])


def _check_two_features(n: int, X: torch.Tensor, y: torch.Tensor, case: str) -> None:
    """Shapes [n, 2] and [n, 1], float32, uniform in [0, 1), two different features, y = 2 x1 - 3 x2 + 1."""
    need(X.shape != (2, n) or n == 2, f"{case}, X has shape {shape(X)}: that is 2 samples with {n} features. "
                                      "PyTorch wants one row per sample and one column per feature.")
    need(X.shape == (n, 2), f"{case}, X has shape {shape(X)}, expected [{n}, 2]: {n} samples, 2 features each.")
    need(X.dtype == torch.float32, f"{case}, X is {X.dtype}: use float32, what torch.rand gives.")
    need(not X.requires_grad, f"{case}, X records operations for autograd (requires_grad=True): data are fixed "
                              "numbers, not parameters to learn. Draw it without requires_grad=True.")
    need(bool(((X >= 0) & (X < 1)).all()), f"{case}, X has values outside [0, 1): draw them with torch.rand.")
    need(n == 1 or not torch.equal(X[:, 0], X[:, 1]), f"{case}, both features hold the same numbers: draw all "
                                                      f"{n} x 2 numbers at once.")
    want = 2 * X[:, :1] - 3 * X[:, 1:] + 1
    need(y.shape != (n,) or n == 1, f"{case}, y has shape {shape(y)}, a flat tensor: `y - y_pred` against a [{n}, 1] "
                                    "prediction would broadcast into a table. Keep y a column.")
    need(y.shape == (n, 1), f"{case}, y has shape {shape(y)}, expected [{n}, 1]: one label per sample.")
    need(y.dtype == torch.float32, f"{case}, y is {y.dtype}: keep the labels float32, like X (a float64 weight "
                                   "tensor or .double() changes it).")
    need(not y.requires_grad, f"{case}, y records operations for autograd (requires_grad=True): it was computed "
                              "from a tensor made with requires_grad=True. Labels are fixed numbers: compute them "
                              "from plain numbers or tensors without requires_grad=True.")
    need(not close(y, -3 * X[:, :1] + 2 * X[:, 1:] + 1), f"{case}, y uses the weights the wrong way round: "
                                                         "2 belongs to the first feature (column 0), -3 to the second.")
    need(not close(y, want - 1), f"{case}, y is 2 x1 - 3 x2: the + 1 is missing.")
    need(close(y, want), f"{case}, y is not 2 x1 - 3 x2 + 1 for every row of X.")


def _check_first_draws(n: int, seed: int, X: torch.Tensor) -> None:
    """X holds the first 2 n numbers torch.rand draws from a generator seeded with `seed` (in any arrangement)."""
    draws = torch.rand(4 * n + 8, generator=torch.Generator().manual_seed(seed))
    if torch.equal(X.flatten().sort().values, draws[:2 * n].sort().values):
        return
    case = f"For n={n}, seed={seed}"
    need(not bool(torch.isin(X.flatten(), draws).all()), f"{case}, X holds numbers the generator seeded with {seed} "
         f"draws, but not its first {2 * n}: your function skips some (it draws more than it uses, or something "
         "before X). Give X the generator's first draws.")
    raise Incorrect(f"{case}, X's numbers are not those torch.rand draws from a torch.Generator seeded with {seed}: "
                    "seed it with `seed` itself, not a number made from it (seed + 1, seed + n, ...), so that "
                    "anyone with the same seed gets the same data.")


def _check_make_data(make_two_feature_data: object) -> str:
    """Several sizes, reproducible, seed-dependent, the global random numbers untouched."""
    need(callable(make_two_feature_data),
         "`make_two_feature_data` should be a function make_two_feature_data(n, seed).")
    made = []
    for n, seed in [(50, 0), (7, 1), (1, 2)]:
        case = f"For n={n}, seed={seed}"
        rng = torch.get_rng_state()
        X, y = _pair(call(make_two_feature_data, n, seed, case=case), case)
        need(torch.equal(rng, torch.get_rng_state()), "your function changed torch's global random numbers "
             "(torch.manual_seed, or torch.rand without generator=): give it a torch.Generator of its own.")
        _check_two_features(n, X, y, case)
        X2, y2 = _pair(call(make_two_feature_data, n, seed, case="Called a second time"), case)
        need(torch.equal(X, X2) and torch.equal(y, y2), f"{case}, two calls gave different data: seed a "
                                                        "torch.Generator with `seed` and pass it to torch.rand.")
        made.append((n, seed, X))
    X_other, _ = _pair(call(make_two_feature_data, 50, 1, case="For n=50, seed=1"), "For n=50, seed=1")
    X_zero, _ = _pair(call(make_two_feature_data, 50, 0, case="For n=50, seed=0"), "For n=50, seed=0")
    need(not torch.equal(X_zero, X_other), "seeds 0 and 1 gave the same data: the seed must choose the numbers.")
    for n, seed, X in made:
        _check_first_draws(n, seed, X)
    return ("two features in the columns, one label per row in a column, and the same data for the same seed "
            "without touching any other random number: the layout every later model expects.")


q3 = _ex.problem(
    _check_make_data, names=("make_two_feature_data",), title="Data with two features", transfer=True,
    task="The notebook's data has one feature. Write `make_two_feature_data(n, seed)` for data with **two**: "
         "`X` holds `n` samples of 2 features each, uniform in [0, 1): the first `2 * n` numbers `torch.rand` "
         "draws from a `torch.Generator` seeded with `seed` itself. `y` holds their labels on y = 2 x1 - 3 x2 + 1, "
         "where x1 and x2 are a sample's first and second feature. Both are plain float32 data, recording nothing for "
         "autograd. "
         "Return `X, y`. The check calls it for several n and seeds: the shapes, the labels of every row, the same "
         "data for the same seed, the generator's numbers, and torch's global random numbers left alone.",
    starter='def make_two_feature_data(n, seed):\n'
            '    """Return X [n, 2], uniform in [0, 1), and y = 2 x1 - 3 x2 + 1 as a column, reproducibly."""\n'
            '    generator = ____\n'
            '    X = ____\n'
            '    y = ____\n'
            '    return X, y',
    hint="Same layout as the notebook: one row per sample, one column per feature, and a label column "
         "with one row per sample. Picking a column with a single index drops a dimension; a slice one column "
         "wide keeps it. A generator of your own keeps every other random number in the notebook unchanged.",
    solution='def make_two_feature_data(n, seed):\n'
             '    """Return X [n, 2], uniform in [0, 1), and y = 2 x1 - 3 x2 + 1 as a column, reproducibly."""\n'
             '    generator = torch.Generator().manual_seed(seed)\n'
             '    X = torch.rand(n, 2, generator=generator)\n'
             '    y = 2 * X[:, 0:1] - 3 * X[:, 1:2] + 1\n'
             '    return X, y',
)
