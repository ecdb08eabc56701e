"""helpers.exercises.ex01 (notebook 01): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx01(ExerciseModule):
    module = "ex01"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("unsqueeze(dim=1)", "unsqueeze(dim=0)"), "[1, 100]"),
        ("q1", (".unsqueeze(dim=1)", ""), "a flat row"),
        ("q1", ("0.7 * X_fine + 0.3", "0.7 * X_fine"), "bias 0.3 is missing"),
        ("q2", ("    generator = torch.Generator().manual_seed(seed)\n", ("    torch.manual_seed(seed)\n"
                        "    generator = None\n")), "global random numbers"),
        ("q2", ("def add_noise(y, noise_std, seed):\n    generator = torch.Generator().manual_seed(seed)\n"
                       "    y += noise_std * torch.randn(y.shape, generator=generator)\n    return y"),
         "changed `y` itself"),
        ("q3", ("    if t.ndim == 1:\n        return t.unsqueeze(dim=1)\n    return t",
                        "    return t.unsqueeze(1)"),
         "[50, 1, 1]"),
        ("q3", ("t.unsqueeze(dim=1)", "t.unsqueeze(dim=0)"), "one sample with 50 features"),
    ]
