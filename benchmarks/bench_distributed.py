"""What data parallelism gains here (notebook 13): a digits-CNN epoch with 1 and 2 processes, and an all-reduce.

Usage: python benchmarks/bench_distributed.py [--repeats N]
Each case is launched with torchrun (gloo, OMP_NUM_THREADS=1, a free port, a timeout) and runs this same
file with --worker: 1 process trains notebook 12's digits CNN (1,150 images, batches of 32, Adam) without
DDP; 2 processes train it with DistributedDataParallel, 16 images each per step, so both do 36 steps of 32
images per epoch. Each run does one warm-up epoch, then N timed epochs (an epoch's time is the slowest
rank's); the 1-process run then times N rounds of as many steps of 16 images (one rank's share of an epoch,
with nobody to wait for: what 2 processes with a free core each could at best take, plus their all-reduces);
the 2-process run times N x 20 all-reduces of a tensor the size of the CNN's gradient. The two
cases run one after the other (they cannot take turns within one launch), so load from elsewhere can hit one
more than the other: read the rounds' range next to the medians.
`measure(repeats)` returns the numbers as a dict for benchmarks/bench.py.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 600


def free_port() -> int:
    """A port that no program listens on now (the system picks it when we bind to port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(repeats: int, out: Path) -> None:
    """One rank: time `repeats` epochs of the digits CNN (DDP when there are 2+ ranks), then all-reduces."""
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    from helpers.classify import DigitCNN
    from helpers.vision import load_digits

    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    X, y = load_digits("train", root=ROOT / "data" / "digits")
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(42))
    train_ds = TensorDataset(X[order[len(X) // 5 :]], y[order[len(X) // 5 :]])  # notebook 12's 1,150 images
    sampler = DistributedSampler(train_ds, seed=0)
    loader = DataLoader(train_ds, batch_size=32 // world_size, sampler=sampler)
    torch.manual_seed(42)
    model = DigitCNN()
    model = DistributedDataParallel(model) if world_size > 1 else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    epochs = []
    for epoch in range(repeats + 1):  # the first epoch warms up and is not counted
        sampler.set_epoch(epoch)
        dist.barrier()
        start = time.perf_counter()
        for X_batch, y_batch in loader:
            loss = nn.functional.cross_entropy(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = torch.tensor([time.perf_counter() - start])
        dist.all_reduce(seconds, op=dist.ReduceOp.MAX)  # an epoch lasts until its slowest rank is done
        epochs.append(seconds.item())
    shares = []
    if world_size == 1:  # one rank's share of a 2-process epoch: as many steps, 16 images each
        half = DataLoader(train_ds, batch_size=16, sampler=sampler)
        for _ in range(repeats):
            start = time.perf_counter()
            for _, (X_batch, y_batch) in zip(range(len(loader)), half):
                loss = nn.functional.cross_entropy(model(X_batch), y_batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            shares.append(time.perf_counter() - start)
    grad = torch.zeros(sum(p.numel() for p in model.parameters()))
    all_reduce = []
    if world_size > 1:
        dist.all_reduce(grad)  # warm-up
        for _ in range(20 * repeats):
            start = time.perf_counter()
            dist.all_reduce(grad)
            all_reduce.append(time.perf_counter() - start)
    if rank == 0:
        out.write_text(json.dumps({"epochs_s": epochs[1:], "steps": len(loader), "all_reduce_s": all_reduce,
                                   "numbers": grad.numel(), "shares_s": shares}))
    dist.destroy_process_group()


def launch(processes: int, repeats: int) -> dict:
    """Run the worker under torchrun with `processes` processes; return what rank 0 wrote, plus the launch time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--master-port", str(free_port()), __file__, "--worker", "--repeats", str(repeats),
                   "--out", str(out)]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"torchrun with {processes} processes failed:\n{result.stderr[-3000:]}")
        return {**json.loads(out.read_text()), "launch_s": time.perf_counter() - start}


def measure(repeats: int = 7) -> dict[str, float | int | list[float]]:
    """Epoch medians with 1 and 2 processes, their ratio, one rank's share alone, the all-reduce median, and each
    launch's wall time."""
    one, two = launch(1, repeats), launch(2, repeats)
    t1, t2 = statistics.median(one["epochs_s"]), statistics.median(two["epochs_s"])
    return {
        "steps_per_epoch": one["steps"],
        "epoch_1_process_s": t1,
        "epoch_2_processes_s": t2,
        "epoch_1_process_rounds_s": one["epochs_s"],
        "epoch_2_processes_rounds_s": two["epochs_s"],
        "speedup": t1 / t2,
        "share_1_process_s": statistics.median(one["shares_s"]),
        "all_reduce_numbers": two["numbers"],
        "all_reduce_s": statistics.median(two["all_reduce_s"]),
        "all_reduce_min_s": min(two["all_reduce_s"]),
        "all_reduce_max_s": max(two["all_reduce_s"]),
        "launch_1_process_s": one["launch_s"],
        "launch_2_processes_s": two["launch_s"],
    }


def main(argv: list[str]) -> int:
    """Print one table, or run as one rank of a launch (--worker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per case (default 7)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    if args.worker:
        worker(args.repeats, args.out)
        return 0
    r = measure(args.repeats)
    print(f"DDP on this machine ({os.cpu_count()} cores, gloo, 1 thread per process), median of {args.repeats} epochs")
    print("| case | 1 process | 2 processes | 1 / 2 | all-reduce of the gradient |")
    print("|---|---|---|---|---|")
    print(f"| digits CNN, {r['steps_per_epoch']} steps of 32 images | {r['epoch_1_process_s'] * 1000:.0f} ms "
          f"({min(r['epoch_1_process_rounds_s']) * 1000:.0f} to {max(r['epoch_1_process_rounds_s']) * 1000:.0f}) | "
          f"{r['epoch_2_processes_s'] * 1000:.0f} ms ({min(r['epoch_2_processes_rounds_s']) * 1000:.0f} to "
          f"{max(r['epoch_2_processes_rounds_s']) * 1000:.0f}) | {r['speedup']:.2f}× | "
          f"{r['all_reduce_s'] * 1000:.2f} ms for {r['all_reduce_numbers']:,} numbers |")
    print(f"one rank's share alone ({r['steps_per_epoch']} steps of 16 images, 1 process): "
          f"{r['share_1_process_s'] * 1000:.0f} ms; with {r['steps_per_epoch']} all-reduces: "
          f"{(r['share_1_process_s'] + r['steps_per_epoch'] * r['all_reduce_s']) * 1000:.0f} ms")
    print(f"launches (imports and set-up included): {r['launch_1_process_s']:.1f} s and "
          f"{r['launch_2_processes_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
