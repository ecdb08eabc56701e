"""What pytorch-ignite's Engine costs against the hand-written loop (notebook 12), on the line and on the digits.

Usage: python benchmarks/bench_ignite.py [--repeats N] [--threads T]
Both loops call the same process function (the six training steps, 0-5), so the difference is the
engine's own bookkeeping. Two cases: the line of notebook 08 trained on the full batch (320 points,
one step per epoch, 200 epochs) and one epoch of the digits CNN in mini-batches of 32 (36 steps).
The loops take turns (after one warm-up round) so that load from elsewhere hits both alike; the
table shows the median of N rounds for each, the median of the rounds' ratios engine / hand loop,
what the engine adds per iteration (both with their range over the rounds: on the digits the range
is wider than the engine's whole cost), the engine's own cost per iteration measured alone (an
empty process function over the same batches: only the loops are left to time) and its share of
the case's step, and whether the two loops end at the same parameters from the same seed (they must).
`measure(repeats)` returns the numbers as a dict for benchmarks/bench.py; `own_cost` is what
tests/test_ignite_cost.py uses to check the notebook's claims about that cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

ROOT = Path(__file__).resolve().parents[1]
LINE_EPOCHS = 200
Step = Callable[[object, tuple[torch.Tensor, torch.Tensor]], float]


def make_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module) -> Step:
    """Return a process function that does the six training steps on one batch (notebook 12's train_step)."""

    def step(engine: object, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
        model.train()
        X, y = batch
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def empty_step(engine: object, batch: object) -> None:
    """A process function that does nothing: timing it leaves only the loop around it."""


def own_cost(data: Iterable, epochs: int, repeats: int) -> list[float]:
    """What the engine adds to each iteration with nothing else to do: µs per iteration, round by round (engine
    minus hand loop on the empty step, the loops taking turns after one warm-up round)."""
    iterations = epochs * len(data)  # type: ignore[arg-type]
    added = []
    for round_ in range(repeats + 1):
        seconds = []
        for loop in (hand_loop, engine_loop):
            start = time.perf_counter()
            loop(empty_step, data, epochs)
            seconds.append(time.perf_counter() - start)
        if round_:
            added.append((seconds[1] - seconds[0]) / iterations * 1e6)
    return added


def hand_loop(step: Step, data: Iterable, epochs: int) -> None:
    """Call the process function on every batch of every epoch, with no engine."""
    for _ in range(epochs):
        for batch in data:
            step(None, batch)


def engine_loop(step: Step, data: Iterable, epochs: int) -> None:
    """Make the same calls through an ignite Engine."""
    from ignite.engine import Engine

    Engine(step).run(data, max_epochs=epochs)


def line_case() -> tuple[Callable[[], tuple[nn.Module, Step]], list, int]:
    """The line of notebook 08 on the full batch: (fresh model and step, data, epochs)."""
    import helpers
    from helpers.datasets import load_tensor_dataset

    dataset = load_tensor_dataset(ROOT / "data" / "noisy_line.pt")
    X_train, y_train, _, _ = helpers.train_test_split(
        dataset["training_data"], dataset["training_labels"], train_fraction=0.8, shuffle=True, seed=0
    )

    def fresh() -> tuple[nn.Module, Step]:
        torch.manual_seed(42)
        model = helpers.LinearRegressionModel()
        return model, make_step(model, torch.optim.SGD(model.parameters(), lr=0.2), nn.MSELoss())

    return fresh, [(X_train, y_train)], LINE_EPOCHS


def digits_case() -> tuple[Callable[[], tuple[nn.Module, Step]], Callable[[], Iterable], int]:
    """One epoch of notebook 12's digits CNN in mini-batches of 32: (fresh model and step, fresh loader, epochs)."""
    from helpers.classify import DigitCNN
    from helpers.datasets import make_loaders
    from helpers.vision import load_digits

    X_full, y_full = load_digits("train")
    order = torch.randperm(len(X_full), generator=torch.Generator().manual_seed(42))
    train = TensorDataset(X_full[order[len(X_full) // 5 :]], y_full[order[len(X_full) // 5 :]])

    def fresh() -> tuple[nn.Module, Step]:
        torch.manual_seed(42)
        model = DigitCNN()
        return model, make_step(model, torch.optim.Adam(model.parameters(), lr=0.01), nn.CrossEntropyLoss())

    return fresh, lambda: make_loaders(train, batch_size=32, seed=42)[0], 1


def _largest_difference(a: nn.Module, b: nn.Module) -> float:
    """The largest absolute difference between the parameters of two models of the same class."""
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def _compare(fresh: Callable, data: Callable[[], Iterable], epochs: int, repeats: int) -> dict[str, float]:
    """Parity from the same seed, then interleaved timings of both loops: medians, median ratio, cost per iteration."""
    model_hand, step_hand = fresh()  # fresh() seeds torch: each loop starts from the same random state
    hand_loop(step_hand, data(), epochs)  # (dropout draws from it); these two runs are also the warm-up
    model_engine, step_engine = fresh()
    engine_loop(step_engine, data(), epochs)
    _, step = fresh()
    loader = data()
    times: dict[str, list[float]] = {"hand_loop": [], "engine": []}
    for _ in range(repeats):
        for name, loop in (("hand_loop", hand_loop), ("engine", engine_loop)):
            start = time.perf_counter()
            loop(step, loader, epochs)
            times[name].append(time.perf_counter() - start)
    hand, engine = statistics.median(times["hand_loop"]), statistics.median(times["engine"])
    # the median of each round's own ratio: a burst of load from elsewhere spoils one round, not the figure
    ratios = [e / h for h, e in zip(times["hand_loop"], times["engine"])]
    iterations = epochs * len(loader)  # type: ignore[arg-type]
    extra = [(e - h) / iterations * 1e6 for h, e in zip(times["hand_loop"], times["engine"])]
    own = statistics.median(own_cost(list(loader), epochs, 3 * repeats))  # the batches fetched once, beforehand
    return {
        "epochs": epochs,
        "iterations": iterations,
        "hand_loop_median_s": hand,
        "engine_median_s": engine,
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "engine_extra_us_per_iteration": (engine - hand) / iterations * 1e6,
        "engine_extra_us_min": min(extra),  # the rounds' range: on a costly step it can straddle zero
        "engine_extra_us_max": max(extra),
        "step_us": hand / iterations * 1e6,
        "engine_own_us_per_iteration": own,  # measured on an empty step: the engine's bookkeeping alone
        "engine_own_share_of_step": own / (hand / iterations * 1e6),
        "largest_parameter_difference": _largest_difference(model_hand, model_engine),
    }


def measure(repeats: int = 7) -> dict[str, dict[str, float]]:
    """Engine vs hand loop on the line (full batch) and on the digits (mini-batches): medians, ratios, parity."""
    import logging

    logging.getLogger("ignite").setLevel(logging.WARNING)
    line_fresh, line_data, line_epochs = line_case()
    digits_fresh, digits_data, digits_epochs = digits_case()
    return {
        "line, full batch (320 points, 200 epochs)": _compare(line_fresh, lambda: line_data, line_epochs, repeats),
        "digits CNN, mini-batches of 32 (1 epoch)": _compare(digits_fresh, digits_data, digits_epochs, repeats),
    }


def main(argv: list[str]) -> int:
    """Print one row per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per case (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as in notebook 12)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be 1 or more")
    torch.set_num_threads(args.threads)
    import ignite

    print(f"ignite Engine vs hand-written loop, median of {args.repeats} interleaved rounds "
          f"(torch {torch.__version__}, ignite {ignite.__version__}, {torch.get_num_threads()} thread(s))")
    print("| case | hand loop | engine | engine / hand (rounds) | engine adds per iteration (rounds) | step "
          "| engine alone, empty step (share of the step) | same parameters |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in measure(args.repeats).items():
        difference = r["largest_parameter_difference"]
        print(f"| {name} | {r['hand_loop_median_s'] * 1000:.1f} ms | {r['engine_median_s'] * 1000:.1f} ms | "
              f"{r['ratio']:.2f}× ({r['ratio_min']:.2f} to {r['ratio_max']:.2f}) | "
              f"{r['engine_extra_us_per_iteration']:.0f} µs "
              f"({r['engine_extra_us_min']:.0f} to {r['engine_extra_us_max']:.0f}) | "
              f"{r['step_us']:.0f} µs | "
              f"{r['engine_own_us_per_iteration']:.1f} µs ({r['engine_own_share_of_step']:.2%}) | "
              f"{'yes' if difference == 0 else f'NO: {difference}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
