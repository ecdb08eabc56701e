"""The digits CNN of notebook 09 over several seeds, beside the SVC yardstick on the same split.

Usage: python benchmarks/bench_digits.py [--seeds N] [--epochs E]
Notebook 09 trains its CNN once, from one seed; one run's test accuracy may be a lucky or an
unlucky draw. This script repeats the notebook's recipe exactly, once per seed (the seed fixes the
initial weights, the dropout draws and the batch order): `DigitCNN`, Adam at lr 0.01, shuffled
batches of 32 of the same 1,150 training images (the other 287 of the training folder are the
validation set), trained until validation accuracy exceeds 98.5 % or for 30 epochs (`fit_to_goal`,
which notebook 09 shows equal to its hand-written loop). Each model is scored on the 360 test images,
beside the figure of scikit-learn's SVC on the same test images (data/digits/svc_yardstick.json,
measured by tools/make_digits.py). For context, the same seeds are also trained for a fixed number
of epochs with no goal, to show what stopping at the goal costs.
Accuracy is not a timing: load does not change it; with one thread it is the same on every run of
the same torch version on the same machine. `measure(repeats)` returns the numbers as a dict for
benchmarks/bench.py, with `repeats` seeds (make bench: 7).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
GOAL, MAX_EPOCHS, LR, BATCH = 0.985, 30, 0.01, 32  # notebook 09's settings
FIXED_EPOCHS = 20


def digits_split() -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Notebook 09's data: (train 1,150), (validation 287) from the training folder, (test 360)."""
    from helpers.vision import load_digits

    X_full, y_full = load_digits("train", root=ROOT / "data" / "digits")
    X_test, y_test = load_digits("test", root=ROOT / "data" / "digits")
    order = torch.randperm(len(X_full), generator=torch.Generator().manual_seed(42))
    n_val = len(X_full) // 5
    val, train = order[:n_val], order[n_val:]
    return (X_full[train], y_full[train]), (X_full[val], y_full[val]), (X_test, y_test)


def train_one(seed: int, train: tuple, val: tuple, test: tuple, goal: float | None, max_epochs: int) -> dict:
    """Seed, build a DigitCNN, train it to the goal (or for max_epochs when goal is None); epochs and test accuracy."""
    from helpers.classify import DigitCNN, accuracy, fit_to_goal, predict_logits

    torch.manual_seed(seed)
    model = DigitCNN()
    loader = DataLoader(TensorDataset(*train), batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=LR), nn.CrossEntropyLoss()
    if goal is not None:
        history = fit_to_goal(model, loader, val, loss_fn, optimizer, goal=goal, max_epochs=max_epochs)
        epochs, reached = history.epochs, history.reached_goal
    else:
        for _ in range(max_epochs):  # the same steps, with no validation and no stop
            model.train()
            for X, y in loader:
                loss = loss_fn(model(X), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        epochs, reached = max_epochs, None
    correct = round(accuracy(predict_logits(model, test[0]), test[1]) * len(test[1]))
    return {"seed": seed, "epochs": epochs, "reached_goal": reached, "test_correct": correct,
            "test_accuracy": correct / len(test[1])}


def _summary(runs: list[dict]) -> dict:
    """Mean, sample standard deviation, lowest and highest test accuracy of the runs."""
    acc = [r["test_accuracy"] for r in runs]
    return {"mean": statistics.mean(acc), "stdev": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "min": min(acc), "max": max(acc), "epochs": [r["epochs"] for r in runs], "runs": runs}


def measure(repeats: int = 7, fixed_epochs: int | None = None) -> dict:
    """The CNN's test accuracy over `repeats` seeds (notebook 09's recipe, and a fixed-epochs run), and the SVC's.

    fixed_epochs defaults to 20, or 1 for a single seed (bench.py's smoke run, whose numbers mean nothing)."""
    if fixed_epochs is None:
        fixed_epochs = FIXED_EPOCHS if repeats > 1 else 1
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as notebook 09 runs
    try:
        train, val, test = digits_split()
        seeds = list(range(repeats))
        to_goal = [train_one(s, train, val, test, GOAL, MAX_EPOCHS) for s in seeds]
        fixed = [train_one(s, train, val, test, None, fixed_epochs) for s in seeds]
    finally:
        torch.set_num_threads(threads)
    svc = json.loads((ROOT / "data" / "digits" / "svc_yardstick.json").read_text())
    goal = _summary(to_goal)
    return {"seeds": seeds, "test_images": len(test[1]), "to_goal": goal,
            "fixed_epochs": {"epochs_each": fixed_epochs, **_summary(fixed)},
            "svc_accuracy": svc["accuracy"], "svc_correct": svc["correct"],
            "mean_reaches_svc": goal["mean"] >= svc["accuracy"]}


def main(argv: list[str]) -> int:
    """Print each seed's run and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=7, help="how many seeds, 0, 1, ... (default 7)")
    parser.add_argument("--epochs", type=int, default=FIXED_EPOCHS, help="epochs of the no-goal runs (default 20)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        parser.error("--seeds and --epochs must be 1 or more")
    r = measure(args.seeds, args.epochs)
    n = r["test_images"]
    for name, s in (("to the goal (notebook 09)", r["to_goal"]), (f"{args.epochs} epochs, no goal", r["fixed_epochs"])):
        print(f"CNN, {name}: mean {s['mean']:.2%} ± {s['stdev']:.2%} over {len(r['seeds'])} seeds "
              f"(lowest {s['min']:.2%}, highest {s['max']:.2%}); per seed: "
              + ", ".join(f"{x['seed']}: {x['test_correct']}/{n} in {x['epochs']} epochs" for x in s["runs"]))
    print(f"SVC(gamma=0.001) on the same test images: {r['svc_accuracy']:.2%} ({r['svc_correct']}/{n}); "
          f"the CNN's mean {'reaches' if r['mean_reaches_svc'] else 'does not reach'} it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
