"""How fast the course runs, and how close its training gets to the limit.

Usage: python benchmarks/bench.py [--smoke] [--out DIR]
Writes DIR/RESULTS.md (a table: goal, measured value, verdict, and the machine) and
DIR/results.json; DIR defaults to benchmarks/. --smoke runs a tiny version of every measurement
(one notebook, few epochs and repeats) so that `make test` keeps this script working; its numbers
mean nothing. Run the real thing with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def median_and_max(seconds: list[float]) -> tuple[float, float]:
    return statistics.median(seconds), max(seconds)


# 1. Course execution ------------------------------------------------------------------------------


def course_execution(smoke: bool) -> dict:
    """Execute each notebook headless with nbclient (kernel start included) in a scratch copy."""
    import nbformat
    from course import notebook_paths
    from nbclient import NotebookClient

    paths = notebook_paths()[:1] if smoke else notebook_paths()
    times = {}
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "data").symlink_to(ROOT / "data")  # "../data" from the copies, as from notebooks/
        scratch = str(Path(home) / "notebooks")
        Path(scratch).mkdir()
        for path in paths:
            copy = Path(scratch) / path.name
            shutil.copy(path, copy)
            nb = nbformat.read(copy, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": scratch}}).execute()
            times[path.stem] = time.perf_counter() - start
    return {"per_notebook_s": times, "total_s": sum(times.values()), "slowest_s": max(times.values())}


# 2. Training-loop overhead ------------------------------------------------------------------------


def _setup():
    import torch

    import helpers

    X, y = helpers.make_line_data()
    X_train, y_train, X_val, y_val, _, _ = helpers.train_val_test_split(X, y, 0.8, 0.1)  # ordered 40 / 5 / 5
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    return model, torch.optim.SGD(model.parameters(), lr=0.01), torch.nn.L1Loss(), (X_train, y_train), (X_val, y_val)


def loop_by_hand(epochs: int) -> list[float]:
    """The seed's loop: train step, then validation loss in inference mode, both recorded every epoch."""
    import torch

    model, optimizer, loss_fn, (X_train, y_train), (X_val, y_val) = _setup()
    train_losses, val_losses = [], []
    for _ in range(epochs):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.inference_mode():
            val_loss = loss_fn(model(X_val), y_val)
        train_losses.append(loss.item())
        val_losses.append(val_loss.item())
    return val_losses


def loop_helpers_fit(epochs: int) -> list[float]:
    """helpers.fit with full-batch (X, y) tuples and evaluation every epoch."""
    import helpers

    model, optimizer, loss_fn, train, val = _setup()
    return helpers.fit(model, train, val, loss_fn, optimizer, epochs).val_loss


def loop_ignite(epochs: int) -> list[float]:
    """pytorch-ignite's supervised trainer + evaluator, one full batch per epoch, evaluated every epoch."""
    from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
    from ignite.metrics import Loss

    model, optimizer, loss_fn, train, val = _setup()
    trainer = create_supervised_trainer(model, optimizer, loss_fn)
    evaluator = create_supervised_evaluator(model, metrics={"loss": Loss(loss_fn)})
    val_losses: list[float] = []

    @trainer.on(Events.EPOCH_COMPLETED)
    def evaluate(_engine) -> None:
        evaluator.run([val])
        val_losses.append(evaluator.state.metrics["loss"])

    trainer.run([train], max_epochs=epochs)
    return val_losses


def training_overhead(smoke: bool) -> dict:
    """Interleaved repeats of the three loops; medians and ratios to the hand-written one."""
    import logging

    logging.getLogger("ignite").setLevel(logging.WARNING)
    epochs, repeats = (20, 1) if smoke else (1000, 15)
    loops = {"by_hand": loop_by_hand, "helpers_fit": loop_helpers_fit, "ignite": loop_ignite}
    reference = loop_by_hand(epochs)
    for name, loop in loops.items():  # warm up, and check that all three compute the same run
        losses = loop(epochs)
        assert len(losses) == epochs and abs(losses[-1] - reference[-1]) < 1e-6, f"{name} trains differently"
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            start = time.perf_counter()
            loop(epochs)
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {
        "epochs": epochs, "repeats": repeats, "median_s": medians,
        "ratio_to_by_hand": {name: m / medians["by_hand"] for name, m in medians.items()},
    }


# 3. Closeness to the limit ------------------------------------------------------------------------


RECIPES = {
    # what notebook 07 teaches: nn.Linear model, MSE + SGD(lr=0.5)
    "notebook 07: MSE + SGD(0.5), nn.Linear": ("V2", "MSE", 0.5),
    # the reference course's recipe on both of its models
    "reference: L1 + SGD(0.01), nn.Linear": ("V2", "L1", 0.01),
    "reference: L1 + SGD(0.01), nn.Parameter": ("V1", "L1", 0.01),
}


def closeness(smoke: bool) -> dict:
    """|dweight|, |dbias| to the least-squares fit after 100/200/1000 epochs; first epoch within 1e-3."""
    import torch

    import helpers

    checkpoints, epochs = ((10, 20), 20) if smoke else ((100, 200, 1000), 1000)
    X, y = helpers.make_line_data()
    X_train, y_train, _, _ = helpers.train_test_split(X, y)
    w_star, b_star = helpers.least_squares_fit(X_train, y_train)
    results = {}
    for name, (kind, loss, lr) in RECIPES.items():
        torch.manual_seed(42)
        model = helpers.LinearRegressionModelV2() if kind == "V2" else helpers.LinearRegressionModel()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.MSELoss() if loss == "MSE" else torch.nn.L1Loss()
        row: dict = {"after": {}, "first_epoch_within_1e-3": None}
        for epoch in range(1, epochs + 1):
            helpers.train_step(model, X_train, y_train, loss_fn, optimizer)
            w, b = (p.item() for p in model.parameters())
            dw, db = abs(w - w_star), abs(b - b_star)
            if row["first_epoch_within_1e-3"] is None and dw <= 1e-3 and db <= 1e-3:
                row["first_epoch_within_1e-3"] = epoch
            if epoch in checkpoints:
                row["after"][epoch] = {"weight": w, "bias": b, "dweight": dw, "dbias": db}
        results[name] = row
    return {"closed_form": {"weight": w_star, "bias": b_star}, "recipes": results}


# 4. Explorer responsiveness -----------------------------------------------------------------------


def explorer_redraws(smoke: bool) -> dict:
    """Time each explorer's response to a slider move: compute, draw, render to PNG."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from helpers import widgets as W

    n = 3 if smoke else 40
    sweeps = {
        "line_explorer (weight)": (W.line_explorer, "weight", [round(-1 + 2 * i / n, 2) for i in range(n)]),
        "line_explorer (noise std)": (W.line_explorer, "noise_std", [round(0.5 * i / n, 2) for i in range(n)]),
        "split_explorer (train fraction)": (W.split_explorer, "train_fraction",
                                            [round(0.1 + 0.8 * i / n, 2) for i in range(n)]),
        "optimizer_explorer (weight)": (W.optimizer_explorer, "weight", [round(-1 + 3 * i / n, 3) for i in range(n)]),
        "optimizer_explorer (bias)": (W.optimizer_explorer, "bias", [round(-1 + 2.5 * i / n, 3) for i in range(n)]),
    }
    results = {}
    for name, (build, control, values) in sweeps.items():
        explorer = build()
        seconds = []
        for value in values:
            start = time.perf_counter()
            explorer.controls[control].value = value
            seconds.append(time.perf_counter() - start)
        results[name] = dict(zip(("median_s", "max_s"), median_and_max(seconds)))
    explorer, seconds = W.optimizer_explorer(), []
    for _ in range(n):
        start = time.perf_counter()
        explorer.take_step()
        seconds.append(time.perf_counter() - start)
    results["optimizer_explorer (step button)"] = dict(zip(("median_s", "max_s"), median_and_max(seconds)))
    training, seconds = W.training_explorer(), []
    for epochs in ([100, 200] if smoke else [100, 200, 300, 500, 1000] * 2):
        start = time.perf_counter()
        training.controls["epochs"].value = epochs
        seconds.append(time.perf_counter() - start)
    results["training_explorer (retrain, up to 1000 epochs)"] = dict(zip(("median_s", "max_s"), median_and_max(seconds)))
    return results


# 5. Import cost -----------------------------------------------------------------------------------


def import_cost(smoke: bool) -> dict:
    """Cold processes: `import torch` vs `import torch, helpers`, interleaved; medians."""
    runs = 1 if smoke else 15
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    times: dict[str, list[float]] = {"torch": [], "torch, helpers": []}
    for _ in range(runs):
        for what in times:
            out = subprocess.run([sys.executable, "-c", code.format(what)], capture_output=True, text=True, check=True)
            times[what].append(float(out.stdout))
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"runs": runs, "median_s": medians, "helpers_extra_s": medians["torch, helpers"] - medians["torch"]}


# Report -------------------------------------------------------------------------------------------


# 6. Notebooks 10-12: the doctor, the bottleneck fixes, the engine --------------------------------


LATER = {"diagnose": "bench_debug", "bottlenecks": "bench_profiling", "ignite": "bench_ignite", "digits": "bench_digits",
         "distributed": "bench_distributed"}


def later_notebooks(smoke: bool) -> dict:
    """Run each later notebook's own bench script (benchmarks/bench_*.py, `measure(repeats)`)."""
    import importlib

    sys.path.insert(0, str(ROOT / "benchmarks"))
    tiny = {"diagnose": {"only": 1}}  # the smoke run: the line's case alone (the CNN's cases take ~20 s)
    return {key: importlib.import_module(module).measure(1 if smoke else 7, **(tiny.get(key, {}) if smoke else {}))
            for key, module in LATER.items()}


def later_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """Rows for the later notebooks' measurements: the doctor's time, speed-ups, the engine's overhead."""
    out = []
    for case, v in r["diagnose"].items():
        out.append((f"diagnose, 5 steps: {case}", "≤ 1 s", f"{v['median_s']:.3f} s (the 5 steps alone "
                    f"{v['plain_steps_median_s']:.3f} s; report: {', '.join(v.get('codes', [])) or 'empty'})",
                    verdict(v["median_s"] <= 1)))
    for case, v in r["bottlenecks"].items():
        out.append((f"Bottleneck fixed: {case} ({v['before']} → {v['after']})", "informational",
                    f"{v['speedup']:.1f}× ({v['before_median_s'] * 1000:.2f} ms → {v['after_median_s'] * 1000:.2f} ms)", "-"))
    for case, v in r["ignite"].items():
        out.append((f"ignite Engine / hand loop: {case}", "informational", f"{v['ratio']:.2f}× "
                    f"({v['engine_extra_us_per_iteration']:+.0f} µs per iteration; on an empty step the engine "
                    f"alone {v['engine_own_us_per_iteration']:.1f} µs, {v['engine_own_share_of_step']:.2%} of this "
                    f"step; parameters differ by "
                    f"{v['largest_parameter_difference']})", "-"))
    if "digits" in r:  # notebook 09's CNN over seeds, beside the SVC's figure on the same test images
        d, svc = r["digits"], f"SVC {r['digits']['svc_accuracy']:.1%}"
        g, f = d["to_goal"], d["fixed_epochs"]
        out.append((f"Digits CNN test accuracy, notebook 09's recipe (to the goal), {len(d['seeds'])} seeds",
                    f"mean ≥ {svc} (same split)", f"mean {g['mean']:.1%} ± {g['stdev']:.1%} ({g['min']:.1%} to "
                    f"{g['max']:.1%}; stopped after {min(g['epochs'])}-{max(g['epochs'])} epochs)",
                    verdict(d["mean_reaches_svc"])))
        out.append((f"Digits CNN test accuracy, {f['epochs_each']} epochs and no goal, same seeds", "informational",
                    f"mean {f['mean']:.1%} ± {f['stdev']:.1%} ({f['min']:.1%} to {f['max']:.1%})", "-"))
    if "distributed" in r:  # notebook 13: what 2 processes (DDP, gloo) gain here, and one all-reduce
        v = r["distributed"]
        out.append((f"DDP, digits CNN epoch ({v['steps_per_epoch']} steps of 32): 1 process / 2 processes",
                    "informational", f"{v['speedup']:.2f}× ({v['epoch_1_process_s'] * 1000:.0f} ms → "
                    f"{v['epoch_2_processes_s'] * 1000:.0f} ms; one rank's share alone "
                    f"{v.get('share_1_process_s', float('nan')) * 1000:.0f} ms)", "-"))
        out.append((f"DDP: one all-reduce of the CNN's gradient ({v['all_reduce_numbers']:,} numbers, 2 processes)",
                    "informational", f"{v['all_reduce_s'] * 1000:.2f} ms ({v['all_reduce_min_s'] * 1000:.2f} to "
                    f"{v['all_reduce_max_s'] * 1000:.2f} ms)", "-"))
    return out


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(measure, goal, measured, verdict) rows for the table."""
    ex, tr, cl, ui, im = r["course_execution"], r["training_overhead"], r["closeness"], r["explorers"], r["import"]
    out = [("Course execution: total, all notebooks", "≤ 60 s", f"{ex['total_s']:.1f} s", verdict(ex["total_s"] <= 60))]
    for name, s in ex["per_notebook_s"].items():
        out.append((f"Course execution: {name}", "≤ 15 s", f"{s:.1f} s", verdict(s <= 15)))
    ratio = tr["ratio_to_by_hand"]
    med = tr["median_s"]
    out.append((f"Training loop, {tr['epochs']} epochs: hand-written (a)", "reference", f"{med['by_hand'] * 1000:.0f} ms", "-"))
    out.append(("Training loop: helpers.fit (b) / (a)", "≤ 1.05×", f"{ratio['helpers_fit']:.3f}× ({med['helpers_fit'] * 1000:.0f} ms)",
                verdict(ratio["helpers_fit"] <= 1.05)))
    out.append(("Training loop: ignite engine (c) / (a)", "slower than (b)", f"{ratio['ignite']:.3f}× ({med['ignite'] * 1000:.0f} ms)",
                verdict(ratio["ignite"] > ratio["helpers_fit"])))
    for name, row in cl["recipes"].items():
        for epoch, v in row["after"].items():
            out.append((f"{name}: |Δw|, |Δb| after {epoch}", "≤ 1e-3 by 200 (07 recipe)" if "07" in name else "-",
                        f"{v['dweight']:.1e}, {v['dbias']:.1e} (w {v['weight']:.4f}, b {v['bias']:.4f})",
                        verdict(max(v["dweight"], v["dbias"]) <= 1e-3) if "07" in name and int(epoch) >= 200 else "-"))
        first = row["first_epoch_within_1e-3"]
        out.append((f"{name}: first epoch within 1e-3", "≤ 200" if "07" in name else "-",
                    str(first) if first else "never", verdict(first is not None and first <= 200) if "07" in name else "-"))
    for name, v in ui.items():
        training = name.startswith("training_explorer")
        out.append((f"Explorer redraw: {name}", "informational (trains)" if training else "≤ 150 ms",
                    f"median {v['median_s'] * 1000:.0f} ms, worst {v['max_s'] * 1000:.0f} ms",
                    "-" if training else verdict(v["max_s"] <= 0.150)))
    out.append(("Import cost: `import helpers` beyond `import torch`", "≤ 0.3 s",
                f"{im['helpers_extra_s'] * 1000:.0f} ms (torch alone {im['median_s']['torch']:.2f} s)",
                verdict(im["helpers_extra_s"] <= 0.3)))
    return out + later_rows(r["later"])


def machine() -> dict:
    import torch

    return {"cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform(), "cpu": platform.processor() or platform.machine()}


def write_report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `make bench` (`benchmarks/bench.py`) on {results['date']}: {m['cores']} cores, "
        f"Python {m['python']}, torch {m['torch']}, {m['platform']}." + (" **SMOKE RUN: the numbers mean nothing.**" if results["smoke"] else ""),
        "",
        "| measure | goal | measured | verdict |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(results)],
        "",
        "How each is measured: notebooks run headless with nbclient in a scratch copy, kernel start included; "
        "the three training loops (same model, data, 1000 full-batch epochs, validation loss every epoch) run "
        "interleaved, medians of the repeats; closeness is to `torch.linalg.lstsq` on the training data; "
        "explorer redraws are a slider's `value` set in Python, through compute, drawing and PNG rendering "
        "(what the browser then shows); import cost is the median over cold processes.",
        "",
    ]
    (out / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that only checks the script works")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks", help="where RESULTS.md and results.json go")
    args = parser.parse_args(argv)
    steps = [("course_execution", course_execution), ("training_overhead", training_overhead),
             ("closeness", closeness), ("explorers", explorer_redraws), ("import", import_cost),
             ("later", later_notebooks)]
    results: dict = {"smoke": args.smoke, "date": time.strftime("%Y-%m-%d"), "machine": machine()}
    for key, step in steps:
        start = time.perf_counter()
        results[key] = step(args.smoke)
        print(f"{key}: done in {time.perf_counter() - start:.1f} s", flush=True)
    write_report(results, args.out)
    for row in rows(results):
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
