"""Exercises for notebook 01 (data): a finer line as a column, seeded noise, and a shape fix against broadcasting."""

from __future__ import annotations

import torch

from ._core import Exercises
from ._util import call, close, need, shape, tensor

_ex = Exercises("ex01")
bind = _ex.bind


def _check_fine_line(X_fine: object, y_fine: object) -> str:
    """X_fine a float column [100, 1] from 0 in steps of 0.01; y_fine on 0.7 x + 0.3."""
    X, y = tensor("X_fine", X_fine), tensor("y_fine", y_fine)
    need(X.shape != (100,), "`X_fine` has shape [100], a flat row: PyTorch reads it as one sample with 100 "
                            "features. Add the column dimension with .unsqueeze(dim=1).")
    need(X.shape != (1, 100), "`X_fine` has shape [1, 100]: one sample with 100 features. "
                              "unsqueeze(dim=1), not dim=0, makes the column [100, 1].")
    need(X.numel() == 100, f"`X_fine` holds {X.numel()} numbers: from 0 up to (not including) 1 in steps "
                           "of 0.01 there are 100.")
    need(X.shape == (100, 1), f"`X_fine` has shape {shape(X)}, expected [100, 1]: 100 samples, 1 feature each.")
    need(X.dtype == torch.float32, f"`X_fine` is {X.dtype}: use floats (torch.arange(0, 1, 0.01) gives float32).")
    need(close(X, torch.arange(0, 1, 0.01).unsqueeze(1)), "`X_fine` should run 0.00, 0.01, ..., 0.99.")
    y_true = 0.7 * X + 0.3
    need(y.shape == X.shape, f"`y_fine` has shape {shape(y)}; labels need the inputs' shape {shape(X)}.")
    need(not close(y, 0.7 * X), "`y_fine` is 0.7 x: the bias 0.3 is missing.")
    need(close(y, y_true), f"`y_fine` starts {y[:2, 0].tolist()}, expected 0.7 x + 0.3: {y_true[:2, 0].tolist()}.")
    return "100 samples in a [100, 1] column, with labels on the line y = 0.7 x + 0.3."


q1 = _ex.problem(
    _check_fine_line, names=("X_fine", "y_fine"), title="A finer line",
    task="Make the line again with a step of 0.01 (Try it 1): `X_fine`, a column of inputs from 0 up to "
         "(not including) 1, and `y_fine`, its labels on y = 0.7 x + 0.3. The check looks at the number of "
         "samples, the shape, the dtype and the values.",
    starter='X_fine = ____  # torch.arange(...) with a step of 0.01, turned into a column\n'
            'y_fine = ____  # the labels: weight 0.7, bias 0.3',
    hint="torch.arange(0, 1, 0.01) gives a flat row of 100 numbers; .unsqueeze(dim=1) makes it a column [100, 1]. "
         "Then y_fine = 0.7 * X_fine + 0.3.",
    solution="X_fine = torch.arange(0, 1, 0.01).unsqueeze(dim=1)\ny_fine = 0.7 * X_fine + 0.3",
)


def _check_add_noise(add_noise: object) -> str:
    """Seeded, reproducible noise that leaves y and the global random numbers alone."""
    need(callable(add_noise), "`add_noise` should be a function add_noise(y, noise_std, seed).")
    X = torch.arange(0, 1, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    y_copy, rng = y.clone(), torch.get_rng_state()
    case = "For y of shape [50, 1], noise_std=0.05 and seed=42"
    noisy = tensor("add_noise(y, 0.05, 42)", call(add_noise, y, 0.05, 42, case=case))
    need(torch.equal(y, y_copy), "your function changed `y` itself: return y + noise, a new tensor (not y += ...).")
    need(torch.equal(rng, torch.get_rng_state()), "your function changed torch's global random numbers "
         "(torch.manual_seed, or torch.randn without generator=): give it a torch.Generator of its own.")
    need(noisy.shape == y.shape, f"{case}, the result has shape {shape(noisy)}: the noise needs y's shape.")
    again = call(add_noise, y, 0.05, 42, case="Called a second time")
    need(torch.equal(noisy, again), "two calls with seed 42 gave different noise: seed a torch.Generator with `seed` "
                                    "and pass it to torch.randn(..., generator=generator).")
    need(not torch.equal(noisy, call(add_noise, y, 0.05, 1, case="With seed=1")),
         "seed 1 gave the same noise as seed 42: the seed must choose the numbers.")
    need(close(call(add_noise, y, 0.0, 42, case="With noise_std=0"), y), "noise_std=0 should return y unchanged: "
                                                                         "multiply the noise by noise_std.")
    spread = (noisy - y).std().item()
    need(0.02 < spread < 0.1, f"the noise has a spread of {spread:.3f}, expected about 0.05: "
                              "noise_std * torch.randn(...) draws numbers with spread noise_std.")
    expected = 0.7 * X + 0.3 + 0.05 * torch.randn(X.shape, generator=torch.Generator().manual_seed(42))
    need(close(noisy, expected), "seed 42 gives other numbers than helpers.make_line_data(noise_std=0.05, seed=42): "
                                 "draw torch.randn(y.shape, generator=generator) and scale it by noise_std.")
    return "reproducible noise from a generator of its own, the same as helpers.make_line_data gives."


q2 = _ex.problem(
    _check_add_noise, names=("add_noise",), title="Noise you can repeat",
    task="Write `add_noise(y, noise_std, seed)`: return `y` plus Gaussian noise of spread `noise_std`, drawn "
         "from a `torch.Generator` seeded with `seed`. The check calls it: the same seed must give the same "
         "noise, another seed other noise, `y` itself and torch's global random numbers must stay untouched, "
         "and seed 42 must reproduce `helpers.make_line_data(noise_std=0.05, seed=42)`.",
    starter='def add_noise(y, noise_std, seed):\n'
            '    """Return y plus Gaussian noise of spread noise_std, the same noise for the same seed."""\n'
            '    generator = ____\n'
            '    return ____',
    hint="generator = torch.Generator().manual_seed(seed); then y + noise_std * torch.randn(y.shape, "
         "generator=generator). A generator of its own leaves every other random number in the notebook alone.",
    solution='def add_noise(y, noise_std, seed):\n'
             '    """Return y plus Gaussian noise of spread noise_std, the same noise for the same seed."""\n'
             '    generator = torch.Generator().manual_seed(seed)\n'
             '    return y + noise_std * torch.randn(y.shape, generator=generator)',
)


def _check_as_column(as_column: object) -> str:
    """Flat tensors become columns; columns stay as they are."""
    need(callable(as_column), "`as_column` should be a function as_column(t).")
    for n, given in [(50, "flat"), (50, "column"), (1, "flat")]:
        t = torch.arange(n, dtype=torch.float32) / 10
        t = t if given == "flat" else t.unsqueeze(1)
        case = f"For a {given} tensor of shape {shape(t)}"
        out = tensor(f"as_column(t) for shape {shape(t)}", call(as_column, t, case=case))
        need(out.shape != (1, n) or n == 1, f"{case}, you returned {shape(out)}: one sample with {n} features; "
                                            "the column is [N, 1] (unsqueeze(dim=1)).")
        need(out.shape == (n, 1), f"{case}, you returned {shape(out)}, expected [{n}, 1]"
                                  + (": a column must stay as it is." if given == "column" else "."))
        need(close(out.flatten(), t.flatten()), f"{case}, the values changed: only the shape should.")
    y_flat = 0.7 * torch.arange(0, 1, 0.02) + 0.3
    diff = call(as_column, y_flat, case="For the flat labels") - (0.7 * torch.arange(0, 1, 0.02) + 0.3).unsqueeze(1)
    return f"flat or column, you get [N, 1]: the notebook's perfect prediction now differs by {diff.abs().max():.1f}."


q3 = _ex.problem(
    _check_as_column, names=("as_column",), title="No more broadcasting surprises",
    task="Write `as_column(t)`: a flat `[N]` tensor comes back as a column `[N, 1]`; a tensor that is already a "
         "column comes back as it is. With it, `as_column(y_flat) - y` is `[50, 1]`, not the `[50, 50]` "
         "table of the broadcasting surprise. The check tries flat and column inputs of several sizes.",
    starter='def as_column(t):\n'
            '    """Return t as a column [N, 1]: a flat [N] gets a second dimension, a column stays as it is."""\n'
            '    if t.ndim == 1:\n'
            '        return ____\n'
            '    return ____',
    hint="t.ndim counts the dimensions. A flat tensor needs t.unsqueeze(dim=1); a column must not get a third "
         "dimension ([50, 1, 1]), so return it unchanged.",
    solution='def as_column(t):\n'
             '    """Return t as a column [N, 1]: a flat [N] gets a second dimension, a column stays as it is."""\n'
             '    if t.ndim == 1:\n'
             '        return t.unsqueeze(dim=1)\n'
             '    return t',
)
