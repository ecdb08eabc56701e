"""The bottleneck fixes of notebook 11, measured before and after on the digits: each speed-up as a ratio of medians.

Usage: python benchmarks/bench_profiling.py [--repeats N] [--runs R]
Each comparison times the slow way and the fixed way taking turns (helpers.profiling.time_interleaved:
one warm-up call each, then N timed rounds; 3N for the comparisons with runs of a few milliseconds or
less, which a pause of the program disturbs most) on one CPU thread, as the notebook does:
  - loading one epoch: decode the PNG files at every access (DataLoader over an ImageFolder) ->
    decode once, DataLoader over a TensorDataset (per-item indexing + collate) -> slice the tensors by batch;
  - the one-time cost of decoding once (dataset_to_tensors) against one epoch from the files (a ratio near 1:
    decoding once costs about one slow epoch, paid up front);
  - one epoch of training (45 steps, Adam) of the MLP and of the CNN, fed from PNG files -> sliced tensors;
  - the training step alone, timed inside the loop (median per step): with PIL's decoding between the steps and
    with nothing between them (Amdahl's law assumes they take the same time; notebook 11 prints both);
  - accuracy of 1,437 predictions: a Python loop over 0-d tensors -> one vectorised comparison;
  - loading one epoch from PNG files with num_workers=2 -> num_workers=0 (a ratio below 1 means workers lose).
With --runs R the whole measurement is repeated R times and the table shows the median ratio and its range.
`measure(repeats)` returns the numbers as a dict for benchmarks/bench.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers
from helpers import vision
from helpers._checks import check_int
from helpers.classify import DigitCNN, DigitMLP, accuracy
from helpers.profiling import Timing, speedup, time_interleaved

BATCH = 32


def seeded() -> torch.Generator:
    """A fresh generator, so that every pipeline shuffles the same way."""
    return torch.Generator().manual_seed(0)


def tensor_batches(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> Iterator[tuple]:
    """Shuffled mini-batches taken from in-memory tensors: one indexing operation per batch (the notebook's)."""
    order = torch.randperm(len(X), generator=generator)
    for i in range(0, len(X), BATCH):
        idx = order[i : i + BATCH]
        yield X[idx], y[idx]


def accuracy_loop(y_pred: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy one prediction at a time, in Python (the slow way)."""
    correct = 0
    for p, t in zip(y_pred, y):
        if p == t:
            correct += 1
    return correct / len(y)


def pipelines(folder: vision.ImageFolder, X: torch.Tensor, y: torch.Tensor) -> dict[str, Callable[[], object]]:
    """name -> a function that makes one epoch of batches, each way the notebook compares."""
    return {
        "files": lambda: DataLoader(folder, batch_size=BATCH, shuffle=True, generator=seeded()),
        "collate": lambda: DataLoader(TensorDataset(X, y), batch_size=BATCH, shuffle=True, generator=seeded()),
        "sliced": lambda: tensor_batches(X, y, seeded()),
        "files, 2 workers": lambda: DataLoader(folder, batch_size=BATCH, shuffle=True, generator=seeded(),
                                               num_workers=2),
    }


def trainer(Model: type[nn.Module], make_batches: Callable[[], object]) -> Callable[[], None]:
    """A function that trains one fresh Model for one epoch of make_batches(), step after step."""
    model, loss_fn = Model(), nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch() -> None:
        for X, y in make_batches():
            helpers.train_step(model, X, y, loss_fn, optimizer)

    return epoch


def timed_parts(model: nn.Module, batches: object, optimizer: torch.optim.Optimizer, loss_fn: nn.Module,
                steps: int | None = None) -> tuple[list[float], list[float]]:
    """Train on `steps` batches (None: all); return each step's seconds ([getting the batch], [training step])."""
    data: list[float] = []
    training: list[float] = []
    batches = iter(batches)
    while steps is None or len(data) < steps:
        start = time.perf_counter()
        batch = next(batches, None)
        fetched = time.perf_counter()
        if batch is None:
            break
        helpers.train_step(model, *batch, loss_fn, optimizer)
        data.append(fetched - start)
        training.append(time.perf_counter() - fetched)
    return data, training


def parts_per_step(Model: type[nn.Module], make: dict[str, Callable[[], object]], rounds: int,
                   steps: int | None = None) -> dict[str, dict[str, Timing]]:
    """Each part's seconds per step (getting the batch, the training step), fed from the files and from sliced
    tensors, taking turns, after 1 warm-up round: {source: {"data": Timing, "training step": Timing}}."""
    models = {source: Model() for source in ("files", "sliced")}
    optimizers = {source: torch.optim.Adam(model.parameters(), lr=1e-3) for source, model in models.items()}
    seconds: dict[str, tuple[list[float], list[float]]] = {source: ([], []) for source in models}
    for round_ in range(rounds + 1):  # round 0 is the warm-up
        for source, model in models.items():
            data, training = timed_parts(model, make[source](), optimizers[source], nn.CrossEntropyLoss(), steps)
            if round_:
                seconds[source][0].extend(data)
                seconds[source][1].extend(training)
    return {source: {"data": Timing(tuple(data)), "training step": Timing(tuple(training))}
            for source, (data, training) in seconds.items()}


LABELS = ("data", "forward", "loss", "backward", "step")


def profile_shares(model: nn.Module, batches: object, steps: int) -> dict[str, float]:
    """Train 2 + `steps` batches under torch.profiler with the notebook's five labels; each label's share of the
    labelled CPU time over the last `steps` (the notebook's profile_training and label_shares)."""
    from torch.profiler import ProfilerActivity, profile, record_function, schedule

    loss_fn, optimizer, batches = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-3), iter(batches)
    skip_two = schedule(wait=1, warmup=1, active=steps, repeat=1)
    with profile(activities=[ProfilerActivity.CPU], schedule=skip_two) as prof:
        for _ in range(2 + steps):
            with record_function("data"):
                X, y = next(batches)
            with record_function("forward"):
                y_hat = model(X)
            with record_function("loss"):
                loss = loss_fn(y_hat, y)
            with record_function("backward"):
                optimizer.zero_grad()
                loss.backward()
            with record_function("step"):
                optimizer.step()
            prof.step()
    totals = {e.key: e.cpu_time_total for e in prof.key_averages() if e.key in LABELS}
    return {label: totals[label] / sum(totals.values()) for label in LABELS}


def _part(parts: dict[str, dict[str, Timing]], part: str) -> dict[str, Timing]:
    """{source: Timing} of one part ("data" or "training step") from parts_per_step's result."""
    return {source: timings[part] for source, timings in parts.items()}


def _row(before: str, after: str, timings: dict[str, Timing], slow: str, fast: str) -> dict:
    """One comparison: what changed, both medians and IQRs, and the speed-up (before / after)."""
    return {
        "before": before, "after": after,
        "before_median_s": timings[slow].median, "before_iqr_s": timings[slow].iqr,
        "after_median_s": timings[fast].median, "after_iqr_s": timings[fast].iqr,
        "speedup": speedup(timings[slow], timings[fast]),
    }


def measure(repeats: int = 5) -> dict[str, dict]:
    """Time each bottleneck and its fix `repeats` times (runs under 10 ms: 3x as many), after one warm-up each."""
    check_int("repeats", repeats, minimum=1)
    short = 3 * repeats  # a run of a millisecond is easily disturbed: more repeats keep its median right
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(42)
        folder = vision.ImageFolder(vision.digits_folder("train"),
                                    transform=vision.Compose([vision.Grayscale(), vision.ToTensor()]))
        X, y = vision.dataset_to_tensors(folder)
        make = pipelines(folder, X, y)

        def epoch(*names: str, n: int) -> dict[str, Timing]:
            return time_interleaved({name: (lambda f=make[name]: list(f())) for name in names}, repeats=n)

        fix_1, fix_2 = epoch("files", "collate", n=repeats), epoch("collate", "sliced", n=short)
        both, workers = epoch("files", "sliced", n=repeats), epoch("files", "files, 2 workers", n=repeats)
        decode = time_interleaved({"once": lambda: vision.dataset_to_tensors(folder),
                                   "files": lambda: list(make["files"]())}, repeats=repeats)
        train = {Model.__name__: time_interleaved({source: trainer(Model, make[source]) for source in ("files", "sliced")},
                                                  repeats=repeats) for Model in (DigitMLP, DigitCNN)}
        alone = {Model.__name__: parts_per_step(Model, make, repeats) for Model in (DigitMLP, DigitCNN)}
        with torch.inference_mode():
            y_pred = DigitMLP()(X).argmax(dim=1)
        metric = time_interleaved({"loop": lambda: accuracy_loop(y_pred, y), "vectorised": lambda: accuracy(y_pred, y)},
                                  repeats=short)
    finally:
        torch.set_num_threads(threads)
    return {
        "load: decode once": _row("decode PNGs every epoch", "decode once, DataLoader(TensorDataset)", fix_1,
                                  "files", "collate"),
        "load: slice by batch": _row("DataLoader(TensorDataset)", "slice tensors by batch", fix_2, "collate", "sliced"),
        "load: both fixes": _row("decode PNGs every epoch", "slice tensors by batch", both, "files", "sliced"),
        "load: decode once, its one-time cost": _row("one epoch from PNG files", "decoding every image once", decode,
                                                      "files", "once"),
        "train MLP epoch": _row("from PNG files", "from sliced tensors", train["DigitMLP"], "files", "sliced"),
        "train CNN epoch": _row("from PNG files", "from sliced tensors", train["DigitCNN"], "files", "sliced"),
        "train MLP: one training step alone (median per step)": _row(
            "decoding between steps", "nothing between steps", _part(alone["DigitMLP"], "training step"),
            "files", "sliced"),
        "train CNN: one training step alone (median per step)": _row(
            "decoding between steps", "nothing between steps", _part(alone["DigitCNN"], "training step"),
            "files", "sliced"),
        "accuracy": _row("Python loop", "vectorised", metric, "loop", "vectorised"),
        "load: num_workers=2": _row("num_workers=0", "num_workers=2", workers, "files", "files, 2 workers"),
    }


def main(argv: list[str]) -> int:
    """Print one line per comparison: before and after medians, and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    runs = [measure(args.repeats) for _ in range(args.runs)]
    print(f"notebook 11's bottleneck fixes, median of {args.repeats} timed runs after 1 warm-up, {args.runs} run(s) "
          f"(torch {torch.__version__}, 1 thread)")
    print("| comparison | before | after | before (median) | after (median) | speed-up |")
    print("|---|---|---|---|---|---|")
    for name, row in runs[-1].items():
        ratios = [run[name]["speedup"] for run in runs]
        spread = f" ({min(ratios):.1f} to {max(ratios):.1f})" if len(runs) > 1 else ""
        print(f"| {name} | {row['before']} | {row['after']} | {row['before_median_s'] * 1e3:.2f} ms | "
              f"{row['after_median_s'] * 1e3:.3f} ms | {statistics.median(ratios):.1f}x{spread} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
