"""Notebook 13 (distributed training): what its lesson relies on, checked apart from its stored outputs.

The scripts and functions are the ones the notebook writes with %%writefile or defines, read from the notebook
itself; the one launch here (torchrun on two simulated nodes, one process each, from two folders) has free ports
and a timeout. Thresholds live here, never in the notebook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import helpers
from helpers.datasets import load_tensor_dataset

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "13_distributed_training.ipynb"


def _cells() -> list[dict]:
    return [c for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def notebook_scripts() -> dict[str, str]:
    """The files the notebook writes with %%writefile (and appends to with -a), as IPython writes them."""
    files: dict[str, str] = {}
    for cell in _cells():
        src = _source(cell)
        if src.startswith("%%writefile"):
            first, body = src.split("\n", 1)
            words = first.split()
            files[words[-1]] = (files.get(words[-1], "") if "-a" in words else "") + body + "\n"
    return files


def notebook_function(cell_id: str, namespace: dict) -> dict:
    """Run one code cell of the notebook (by id) in `namespace`; return the namespace."""
    (cell,) = [c for c in _cells() if c.get("id") == cell_id]
    exec(_source(cell), namespace)  # noqa: S102 - the notebook's own code
    return namespace


def _launcher() -> dict:
    """The notebook's free_port, run_together and run_forked, defined as the notebook defines them."""
    namespace: dict = {}
    exec("import os, signal, socket, subprocess, sys, time, torch", namespace)  # noqa: S102 - the notebook's imports
    for cell_id in ("launcher-1", "launcher-2", "run-forked"):
        notebook_function(cell_id, namespace)
    return namespace


def test_the_scripts_go_under_models_and_are_valid_python():
    scripts = notebook_scripts()
    assert set(scripts) == {"models/ddp/train_line.py", "models/ddp/broken.py"}
    for name, text in scripts.items():
        compile(text, name, "exec")
        assert "/tmp/" not in text and "/work/" not in text, name


@pytest.mark.parametrize("world_size, batch", [(2, 16), (4, 8), (3, 5)])
def test_the_ranks_batches_of_a_step_are_the_single_process_batch(world_size, batch):
    """Section 2's fact behind the proof: with the same seed and epoch, step k of all ranks together reads
    exactly batch k of one process with batches world_size * batch."""
    n = world_size * batch * 4
    for epoch in (0, 3):
        ranks = []
        for rank in range(world_size):
            sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=0)
            sampler.set_epoch(epoch)
            ranks.append(list(DataLoader(range(n), batch_size=batch, sampler=sampler)))
        single = DistributedSampler(range(n), num_replicas=1, rank=0, shuffle=True, seed=0)
        single.set_epoch(epoch)
        one = list(DataLoader(range(n), batch_size=world_size * batch, sampler=single))
        assert len(one) == len(ranks[0])
        for k, big in enumerate(one):
            assert sorted(torch.cat([r[k] for r in ranks]).tolist()) == sorted(big.tolist())


def _one_process_line() -> dict[str, torch.Tensor]:
    """Section 4's single process: batches of 32 from a DistributedSampler of world size 1, 30 epochs."""
    data = load_tensor_dataset(ROOT / "data" / "noisy_line.pt")
    X, y, _, _ = helpers.train_test_split(data["training_data"], data["training_labels"], train_fraction=0.8,
                                          shuffle=True, seed=0)
    train_ds = TensorDataset(X, y)
    sampler = DistributedSampler(train_ds, num_replicas=1, rank=0, shuffle=True, seed=0)
    loader = DataLoader(train_ds, batch_size=32, sampler=sampler)
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    for epoch in range(30):
        sampler.set_epoch(epoch)
        for X_batch, y_batch in loader:
            loss = nn.functional.mse_loss(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.state_dict()


def _course_folder(root: Path) -> Path:
    """A folder laid out as the course (data/, notebooks/models/ddp/train_line.py); returns its notebooks/."""
    root.mkdir()
    (root / "data").symlink_to(ROOT / "data")
    folder = root / "notebooks"
    (folder / "models" / "ddp").mkdir(parents=True)
    (folder / "models" / "ddp" / "train_line.py").write_text(notebook_scripts()["models/ddp/train_line.py"])
    return folder


def test_two_nodes_in_two_folders_end_where_one_process_of_32_does(tmp_path):
    """Section 6's commands, each node run from a folder of its own (no shared disk, as on two machines): both
    exit 0, DDP made the ranks' different starts equal, only node 0's folder gets the model, and 2 x 16 ends
    within 1e-6 of one process's 1 x 32; nothing warns about OMP_NUM_THREADS."""
    folders = [_course_folder(tmp_path / f"machine{node}") for node in range(2)]
    port = _launcher()["free_port"]()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(node),
                               "--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port", str(port),
                               "models/ddp/train_line.py"], cwd=folder, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for node, folder in enumerate(folders)]
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err[-3000:] for _, err in outputs]
    assert all("OMP_NUM_THREADS" not in err for _, err in outputs)
    printed = outputs[0][0]
    before = float(printed.split("differ by up to ")[1].split()[0])
    assert before > 0.1 and "before DDP, by 0.0 after" in printed, printed
    assert "after training the ranks' parameters differ by 0.0:" in printed, printed
    assert outputs[1][0] == ""  # rank 1 prints nothing
    assert not (folders[1] / "models" / "ddp" / "line_ddp.pt").exists()
    saved = torch.load(folders[0] / "models" / "ddp" / "line_ddp.pt", weights_only=True)
    reference = _one_process_line()
    difference = max((saved[k] - reference[k]).abs().max().item() for k in reference)
    assert difference < 1e-6
    assert abs(saved["weights"].item() - 0.7) < 0.05 and abs(saved["bias"].item() - 0.3) < 0.05  # it learned


def _busy(rank: int, world_size: int, seconds: float) -> None:
    time.sleep(seconds)


def _fails(rank: int, world_size: int) -> None:
    if rank == 1:
        raise ValueError("rank 1 cannot go on")


def test_run_forked_stops_copies_that_run_past_the_timeout_and_reports_a_copy_that_raises():
    run_forked = _launcher()["run_forked"]
    start = time.perf_counter()
    with pytest.raises(TimeoutError, match="still running after 2 s"):
        run_forked(_busy, 60, timeout=2)
    assert time.perf_counter() - start < 20
    with pytest.raises(torch.multiprocessing.ProcessRaisedException, match="rank 1 cannot go on"):
        run_forked(_fails, timeout=30)
    run_forked(_busy, 0, timeout=30)  # copies that end in time: nothing raised


@pytest.mark.parametrize("cell_id", ["check", "speed-2"])
def test_forked_ddp_functions_free_the_model_before_its_group(cell_id):
    """A DDP model freed after destroy_process_group, when the function returns, can hang the forked copy
    (the Reducer's destructor waits, holding the GIL, for a gloo thread that needs the GIL)."""
    (cell,) = [c for c in _cells() if c.get("id") == cell_id]
    body = _source(cell)
    assert body.index("del ") < body.index("dist.destroy_process_group()")


def test_the_launcher_finds_free_ports_and_stops_a_hung_run_with_everything_it_started(tmp_path):
    launcher = _launcher()
    ports = {launcher["free_port"]() for _ in range(5)}
    assert all(1024 <= p < 65536 for p in ports)
    pid_file = tmp_path / "child.pid"
    hang = ("import subprocess, sys, time; "
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(subprocess.TimeoutExpired):
        launcher["run_together"]([[sys.executable, "-c", hang]], timeout=5)
    assert time.perf_counter() - start < 30
    child = int(pid_file.read_text())
    for _ in range(50):  # killed with its parent's process group; a zombie until something reaps it
        stat = Path(f"/proc/{child}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the launcher's grandchild {child} survived the timeout")
