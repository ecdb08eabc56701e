"""helpers.exercises: every exercise says "not attempted" with its blanks, "correct" with its own solution, and
"incorrect", with the expected message, for at least two plausible wrong answers; plus the core's behaviour."""

from __future__ import annotations

import importlib
import math
import os
import statistics
import subprocess
import sys
import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import helpers
from helpers.exercises import Exercises, Problem, Verdict
from helpers.exercises._blank import BLANK, BlankError, has_blank

MODULES = [f"ex{n:02d}" for n in range(1, 13)]


def _notebook_names(module: str) -> dict:
    """What the notebook has defined by the time its exercises run (the names the starting code uses)."""
    X, y = helpers.make_line_data()
    X_train, y_train, *_ = helpers.train_val_test_split(X, y, 0.8, 0.1)
    extra = {"ex02": {"TRAIN": "#0072B2", "TEST": "#009E73"}, "ex07": {"X_train": X_train, "y_train": y_train},
             "ex08": {"math": math, "Dataset": Dataset, "DataLoader": DataLoader}, "ex10": {"math": math},
             "ex11": {"time": time, "statistics": statistics}}
    if module == "ex12":
        from ignite.engine import Events
        extra["ex12"] = {"Events": Events}
    return {"torch": torch, "nn": nn, "helpers": helpers, **extra.get(module, {})}


def _problems() -> list[tuple[str, str]]:
    modules = {m: importlib.import_module(f"helpers.exercises.{m}") for m in MODULES}
    return [(m, name) for m in MODULES for name, value in vars(modules[m]).items() if isinstance(value, Problem)]


PROBLEMS = _problems()


def _verdict(module: str, q: str, code: str) -> Verdict:
    """Run `code` in a fresh namespace bound to the module's exercises, check problem `q`, return its verdict."""
    mod = importlib.import_module(f"helpers.exercises.{module}")
    ns = _notebook_names(module)
    mod.bind(ns)
    exec(code, ns)  # noqa: S102 - the starting code, a solution or a wrong answer, as a learner's cell
    problem = getattr(mod, q)
    assert problem.check() is None  # a check cell shows the verdict, never an extra repr
    return problem.last


# Two or more plausible wrong answers per exercise: (module, problem, (old, new) edit of the solution or a whole
# answer, a fragment of the expected message).
WRONG = [
    ("ex01", "q1", ("unsqueeze(dim=1)", "unsqueeze(dim=0)"), "[1, 100]"),
    ("ex01", "q1", (".unsqueeze(dim=1)", ""), "a flat row"),
    ("ex01", "q1", ("0.7 * X_fine + 0.3", "0.7 * X_fine"), "bias 0.3 is missing"),
    ("ex01", "q2", ("    generator = torch.Generator().manual_seed(seed)\n", ("    torch.manual_seed(seed)\n"
                    "    generator = None\n")), "global random numbers"),
    ("ex01", "q2", ("def add_noise(y, noise_std, seed):\n    generator = torch.Generator().manual_seed(seed)\n"
                   "    y += noise_std * torch.randn(y.shape, generator=generator)\n    return y"),
     "changed `y` itself"),
    ("ex01", "q3", ("    if t.ndim == 1:\n        return t.unsqueeze(dim=1)\n    return t",
                    "    return t.unsqueeze(1)"),
     "[50, 1, 1]"),
    ("ex01", "q3", ("t.unsqueeze(dim=1)", "t.unsqueeze(dim=0)"), "one sample with 50 features"),
    ("ex02", "q1", ("int(train_fraction * len(X))", "round(train_fraction * len(X))"), "expected 7 = int(0.75 * 10)"),
    ("ex02", "q1", ("X[n_train:], y[n_train:]", "X[n_train + 1:], y[n_train + 1:]"), "no row lost"),
    ("ex02", "q1", ("X[n_train:], y[n_train:]", "X[n_train:], y[:len(X) - n_train]"), "pairs broke"),
    ("ex02", "q2", ("y[train_idx], X[test_idx], y[test_idx]", "y[train_idx.flip(0)], X[test_idx], y[test_idx]"),
     "pairs broke"),
    ("ex02", "q2", ("torch.randperm(len(X), generator=generator)", "torch.randperm(len(X))"), "global random"),
    ("ex02", "q2", ("torch.randperm(len(X), generator=generator)", "torch.arange(len(X))"), "original order"),
    ("ex02", "q3", ('marker="^"', 'marker="o"'), "same marker"),
    ("ex02", "q3", ("    ax.legend()", "    pass"), "no legend"),
    ("ex02", "q3", ('    ax.scatter(X_test, y_test, c=TEST, marker="^", s=30, label="Test data")\n', ""), "expected 2"),
    ("ex03", "q1", ("nn.Parameter(torch.randn(1), requires_grad=True)", "torch.randn(1, requires_grad=True)"),
     "has no parameters"),
    ("ex03", "q1", ("self.weights * x + self.bias", "self.weights * x"), "bias is missing"),
    ("ex03", "q1", ("        super().__init__()\n", ""), "Module.__init__() call"),
    ("ex03", "q2", ("    with torch.no_grad():\n        model.weights.fill_(0.7)\n        model.bias.fill_(0.3)",
                    "    model.weights.fill_(0.7)\n    model.bias.fill_(0.3)"), "torch.no_grad()"),
    ("ex03", "q2", ("    with torch.no_grad():\n        model.weights.fill_(0.7)\n        model.bias.fill_(0.3)",
                    ("    model.weights = nn.Parameter(torch.tensor([0.7]))\n"
                    "    model.bias = nn.Parameter(torch.tensor([0.3]))")), "new objects"),
    ("ex03", "q3", "grad_w, grad_b = 0.84, 1.0", "the mean of the x values"),
    ("ex03", "q3", "grad_w, grad_b = 5.0, 4.2", "swapped"),
    ("ex04", "q1", ("    optimizer.zero_grad()        # 3. zero the gradients\n", ""), "gradients doubled"),
    ("ex04", "q1", ("    model.train()                # 0. training mode\n", ""), "eval mode"),
    ("ex04", "q1", ("    optimizer.step()             # 5. update the parameters\n", ""), "optimizer.step() called"),
    ("ex04", "q1", ("return loss.item()", "return loss"), "returned a tensor"),
    ("ex04", "q2", "lr_mse = 0.1", "Too small a step"),
    ("ex04", "q2", "lr_mse = 1.0", "blew up"),
    ("ex04", "q3", ("model(X) - y", "y - model(X)"), "opposite sign"),
    ("ex04", "q3", ("(torch.sign(e) * X).mean()", "(torch.sign(e) * X).sum()"), "times autograd's"),
    ("ex04", "q3", ("    return grad_w, grad_b", "    nn.L1Loss()(model(X), y).backward()\n"
                    "    return model.weights.grad, model.bias.grad"), "you called backward()"),
    ("ex05", "q1", ("    model.eval()\n", ""), "dropout layer was still active"),
    ("ex05", "q1", ("torch.inference_mode()", "torch.no_grad()"), "not an inference tensor"),
    ("ex05", "q1", ("    with torch.inference_mode():\n        return model(X)", "    return model(X)"),
     "carries a graph"),
    ("ex05", "q2", ("(y_pred - y).abs().mean().item()", "(y_pred - y).mean().item()"), "opposite sign cancelled"),
    ("ex05", "q2", ("(y_pred - y).pow(2).mean().item()", "(y_pred - y).abs().mean().item() + 0"), "square the errors"),
    ("ex05", "q2", ("(y_pred - y).abs().mean().item()", "(y_pred - y).abs().mean()"), "returned a tensor"),
    ("ex05", "q3", ("return y - y_pred", "return y_pred - y"), "wrong sign"),
    ("ex05", "q3", ("y_pred = helpers.predict(model, X)", "y_pred = model(X)"), "carries a graph"),
    ("ex06", "q1", ("torch.save(model.state_dict(), path)", "torch.save(model, path)"),
     "does not load with weights_only"),
    ("ex06", "q1", ("torch.load(path, weights_only=True)", "torch.load(path, weights_only=False)"),
     "weights_only=False"),
    ("ex06", "q1", ("    model.load_state_dict(state_dict)\n", ""), "predicts differently"),
    ("ex06", "q2", ('    optimizer.load_state_dict(checkpoint["optimizer"])\n', ""), "momentum"),
    ("ex06", "q2", ('return checkpoint["epoch"]', "return checkpoint"), "returned a dict"),
    ("ex06", "q2", ("weights_only=True", "weights_only=False"), "weights_only=False"),
    ("ex07", "q1", ("H = 2 * A.T @ A / len(A)", "H = A.T @ A / len(A)"), "twice the right one"),
    ("ex07", "q1", ("curvatures[-1]", "curvatures[0]"), "smallest curvature"),
    ("ex07", "q2", ("nn.MSELoss()", "nn.L1Loss()"), "from the closed form"),
    ("ex07", "q2", ("X, y = X.to(device), y.to(device)", "X, y = X_train.to(device), y_train.to(device)"),
     "notebook's line"),
    ("ex07", "q2", ("    for epoch in range(epochs):\n", "    for epoch in range(1):\n"), "where 1 epoch does"),
    ("ex07", "q2", ("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=lr)"),
     "not Adam"),
    ("ex07", "q2", ("lr=lr)", "lr=lr, momentum=0.9)"), "no momentum"),
    ("ex07", "q2", ("    helpers.set_seed(42)\n", ""), "seed 42 first"),
    ("ex08", "q1", ("return len(self.X)", "return len(self.X) - 1"), "len(dataset) is 6"),
    ("ex08", "q1", ("return self.X[idx], self.y[idx]", "return self.X, self.y"), "not the whole tensor"),
    ("ex08", "q1", ("return self.X[idx], self.y[idx]", "return self.X[idx]"), "as a pair"),
    ("ex08", "q2", ("return math.ceil(n_samples / batch_size)", "return n_samples // batch_size"), "round up"),
    ("ex08", "q2", ("return n_samples // batch_size", "return math.ceil(n_samples / batch_size)"), "round down"),
    ("ex08", "q2", ("return math.ceil(n_samples / batch_size)", "return n_samples / batch_size"), "an int"),
    ("ex08", "q3", ("            total += loss_fn(model(X), y).item() * len(X)\n            count += len(X)",
                    "            total += loss_fn(model(X), y).item()\n            count += 1"), "plain average"),
    ("ex08", "q3", ("return total / count", "return total"), "mean loss over all 10 samples"),
    ("ex08", "q3", ("    model.eval()\n", ""), "still in training mode"),
    ("ex09", "q1", ("argmax(dim=1)", "argmax(dim=0)"), "raised RuntimeError"),
    ("ex09", "q1", (".float().mean().item()", ".sum().item()"), "number of right answers"),
    ("ex09", "q2", ("nn.Linear(64, 10),    # one logit per digit", "nn.Linear(64, 10), nn.Softmax(dim=1),"),
     "softmax layer"),
    ("ex09", "q2", ("nn.Flatten(),", "nn.Identity(),"), "nn.Flatten()"),
    ("ex09", "q3", ("model.features.requires_grad_(False)", "model.features.eval()"), "still require gradients"),
    ("ex09", "q3", ("model.features.requires_grad_(False)", "model.requires_grad_(False)"), "head is frozen too"),
    ("ex10", "q1", ("    model.zero_grad(set_to_none=True)\n", ""), "left over from an earlier backward()"),
    ("ex10", "q1", (" or not p.grad.any()", ""), "all zeros"),
    ("ex10", "q1", ("    loss_fn(model(X), y).backward()\n", ""), "did your function run"),
    ("ex10", "q2", "initial_loss_5 = math.log(10)", "10 classes"),
    ("ex10", "q2", "initial_loss_5 = 1 / 5", "minus the log"),
    ("ex10", "q3", ("assert after < before", "assert after <= before"), "never calls optimizer.step()"),
    ("ex10", "q3", ("assert after < before", "assert after > before"), "failed the correct"),
    ("ex11", "q1", ("statistics.median(seconds)", "sum(seconds) / len(seconds)"), "the mean"),
    ("ex11", "q1", ("    for _ in range(warmup):\n        fn()\n", ""), "2 warm-up calls"),
    ("ex11", "q1", ("time.perf_counter()", "time.time()"), "did not read time.perf_counter()"),
    ("ex11", "q2", ("2 * in_features", "in_features"), "half of FlopCounterMode"),
    ("ex11", "q2", ("* batch", "* batch + out_features * batch"), "without the bias"),
    ("ex11", "q3", ("def accuracy_vectorised(y_pred, y):\n    right = 0\n    for p, t in zip(y_pred, y):\n"
                   "        right += int(p == t)\n    return right / len(y)"), "loops over the tensor"),
    ("ex11", "q3", ("(y_pred == y).float().mean().item()", "(y_pred == y).sum().item()"), "number of right answers"),
    ("ex11", "q3", ("(y_pred == y).float().mean().item()", "(y_pred == y).float().mean().item() * 100"),
     "expected 0.72"),
    ("ex12", "q1", ("return loss.item()", "return loss"), "returned a tensor"),
    ("ex12", "q1", ("        optimizer.zero_grad()\n", ""), "gradients doubled"),
    ("ex12", "q1", ("        model.train()\n", ""), "eval mode"),
    ("ex12", "q2", ("accuracy > goal", "accuracy >= goal"), "exactly the goal"),
    ("ex12", "q2", ("EPOCH_COMPLETED", "ITERATION_COMPLETED"), "Events.EPOCH_COMPLETED"),
    ("ex12", "q2", ("            engine.terminate()", "            pass"), "terminate()"),
    ("ex12", "q3", ('-engine.state.metrics["loss"]', 'engine.state.metrics["loss"]'), "minus the loss"),
    ("ex12", "q3", ('-engine.state.metrics["loss"]', 'engine.state.metrics["accuracy"]'), "did not change"),
]


@pytest.mark.parametrize("module, q", PROBLEMS, ids=[f"{m}.{q}" for m, q in PROBLEMS])
def test_starting_code_runs_and_is_not_attempted(module, q, capsys):
    problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), q)
    assert "____" in problem.starter
    verdict = _verdict(module, q, problem.starter)
    assert verdict.state == "not attempted", verdict
    assert capsys.readouterr().out.startswith("Not attempted: ")


@pytest.mark.parametrize("module, q", PROBLEMS, ids=[f"{m}.{q}" for m, q in PROBLEMS])
def test_own_solution_is_correct(module, q):
    problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), q)
    assert "____" not in problem.solution_code
    verdict = _verdict(module, q, problem.solution_code)
    assert verdict.state == "correct", verdict


@pytest.mark.parametrize("module, q, edit, fragment", WRONG, ids=[f"{w[0]}.{w[1]}-{w[3][:24]}" for w in WRONG])
def test_wrong_answer_is_incorrect_with_its_message(module, q, edit, fragment):
    code = edit
    if isinstance(edit, tuple):
        code = getattr(importlib.import_module(f"helpers.exercises.{module}"), q).solution_code
        assert edit[0] in code, f"the edit {edit[0]!r} does not apply to the solution"
        code = code.replace(*edit)
    verdict = _verdict(module, q, code)
    assert verdict.state == "incorrect", verdict
    assert fragment in verdict.message, verdict


def test_every_exercise_has_two_wrong_answers_and_every_notebook_two_exercises():
    counts = {(m, q): sum(1 for w in WRONG if w[:2] == (m, q)) for m, q in PROBLEMS}
    assert min(counts.values()) >= 2, {k: v for k, v in counts.items() if v < 2}
    assert all(sum(1 for m, _ in PROBLEMS if m == module) >= 2 for module in MODULES)


@pytest.mark.parametrize("module, q", PROBLEMS, ids=[f"{m}.{q}" for m, q in PROBLEMS])
def test_bad_input_gives_a_verdict_not_a_traceback(module, q):
    problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), q)
    for value in (42, "text", None):
        verdict = _verdict(module, q, "\n".join(f"{name} = {value!r}" for name in problem.names))
        assert verdict.state == "incorrect", verdict
    mod = importlib.import_module(f"helpers.exercises.{module}")
    mod.bind({})
    problem.check()
    assert problem.last.state == "not attempted" and "not defined yet" in problem.last.message


@pytest.mark.parametrize("module, q", PROBLEMS, ids=[f"{m}.{q}" for m, q in PROBLEMS])
def test_hint_and_solution_print_text_and_run_nothing(module, q, capsys):
    problem = getattr(importlib.import_module(f"helpers.exercises.{module}"), q)
    problem.last = None
    assert problem.hint() is None and problem.solution() is None
    out = capsys.readouterr().out
    assert out.startswith("Hint: ") and "\nSolution:\n" in out and problem.solution_code.strip() in out
    assert problem.last is None and problem.title and problem.task


def test_bind_defines_the_blank_and_refuses_anything_but_a_namespace():
    ns: dict = {}
    Exercises("exNN").bind(ns)
    assert ns["____"] is BLANK and repr(BLANK) == "____" and f"{BLANK}" == "____"
    with pytest.raises(TypeError, match=r"exNN.bind\(globals\(\)\)"):
        Exercises("exNN").bind([])


def test_an_unbound_problem_says_how_to_bind(capsys):
    problem = Exercises("exNN").problem(lambda x: "fine", names=("x",), title="t", task="t", starter="x = ____",
                                        hint="h", solution="x = 1")
    problem.check()
    assert problem.last.state == "not attempted" and "exNN.bind(globals())" in problem.last.message


def test_a_checker_that_meets_a_blank_at_run_time_says_not_attempted():
    exercises = Exercises("exNN")
    problem = exercises.problem(lambda f: f(), names=("f",), title="t", task="t", starter="", hint="h", solution="")
    ns: dict = {}
    exercises.bind(ns)
    blank = ns["____"]
    ns["f"] = lambda: blank + 1  # the blank hides behind a closure, so only calling it finds it
    problem.check()
    assert problem.last.state == "not attempted"
    ns["f"] = lambda: 1 / 0
    problem.check()
    assert problem.last == Verdict("incorrect", "your code raised ZeroDivisionError: division by zero")


def test_the_blank_refuses_every_use_and_is_found_in_code_classes_and_containers():
    for use in (lambda: BLANK + 1, lambda: BLANK(), lambda: BLANK.zero_grad(), lambda: BLANK < 0, lambda: bool(BLANK),
                lambda: BLANK[0], lambda: list(BLANK)):
        with pytest.raises(BlankError):
            use()
    ns = {"____": BLANK}
    exec("def f(x):\n    def g():\n        return ____\n    return g\n"  # noqa: S102 - a learner's cell
         "class C:\n    def m(self):\n        return ____\n", ns)
    assert has_blank(ns["f"]) and has_blank(ns["C"]) and has_blank(ns["C"]()) and has_blank({"a": [1, BLANK]})
    assert not has_blank(torch.zeros(2)) and not has_blank(nn.Linear(1, 1)) and not has_blank(lambda: 1)


def test_a_verdict_reads_as_one_line_of_text_and_of_html():
    verdict = Verdict("incorrect", "the gradients doubled: was `optimizer.zero_grad()` called?")
    assert str(verdict) == repr(verdict) == "Incorrect: the gradients doubled: was `optimizer.zero_grad()` called?"
    html = verdict._repr_html_()
    assert "<code>optimizer.zero_grad()</code>" in html and "✗ Incorrect:" in html and "\n" not in html
    correct = Verdict("correct", "a < b")._repr_html_()
    assert "✓ Correct:" in correct and "a &lt; b" in correct


def test_checks_leave_the_notebooks_random_numbers_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for module, q in [("ex04", "q2"), ("ex07", "q2"), ("ex09", "q3")]:
        _verdict(module, q, getattr(importlib.import_module(f"helpers.exercises.{module}"), q).solution_code)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True, env={**os.environ, "MPLBACKEND": "Agg"}).stdout
    return set(out.split())


def test_import_helpers_does_not_import_the_exercises():
    assert "helpers.exercises" not in _modules_after("import helpers")


def test_the_exercises_import_no_plotting_widgets_or_ignite():
    imports = "\n".join(f"from helpers.exercises import {m}" for m in MODULES)
    loaded = _modules_after(f"import helpers.exercises\n{imports}")
    assert not {m.split(".")[0] for m in loaded} & {"matplotlib", "ipywidgets", "IPython", "ignite"}
