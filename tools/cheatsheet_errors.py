"""Print the first line of each error in notebooks/cheatsheet.md, as this torch version words it.

Usage: python tools/cheatsheet_errors.py
Each case runs the mistake for real (on the CPU; the device cases use the `meta` device, which
every machine has, where a GPU would say `cuda:0`) and prints the exception's type and the first
line of its message, or, for the mistakes that raise nothing, what goes wrong instead. A failing
rank under torchrun is not launched: torch's own ChildFailedError is built as torchrun builds it,
and its root cause's lines are printed. Re-run after
a torch upgrade and update the cheat sheet's table from the output; tests/test_cheatsheet.py checks
that every line printed here is in the cheat sheet.
"""

from __future__ import annotations

import pickle
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


class TinyModel(nn.Module):
    """A model class of our own, to show what weights_only refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(1, 1)


def _shape() -> None:
    nn.Linear(1, 1)(torch.arange(0, 1, 0.02))  # [50] instead of [50, 1]


def _broadcast() -> None:
    import warnings

    warnings.simplefilter("error")  # the mistake only warns: turn the warning into an error to catch it
    try:
        nn.MSELoss()(torch.zeros(50, 1), torch.zeros(50))
    finally:
        warnings.resetwarnings()


def _dtype() -> None:
    nn.Linear(1, 1)(torch.zeros(5, 1, dtype=torch.float64))


def _device() -> None:
    nn.Linear(1, 1)(torch.zeros(5, 1, device="meta"))


def _leaf_in_place() -> None:
    w = torch.ones(1, requires_grad=True)
    w -= 0.1 * torch.ones(1)


def _numpy_of_grad() -> None:
    nn.Linear(1, 1)(torch.zeros(5, 1)).numpy()


def _numpy_of_device() -> None:
    torch.zeros(5, 1, device="meta").numpy()  # on a GPU the message names cuda:0 instead of meta


def _inference_in_place() -> None:
    with torch.inference_mode():
        y_pred = nn.Linear(1, 1)(torch.zeros(5, 1))
    y_pred.add_(1)


def _inference_in_autograd() -> None:
    with torch.inference_mode():
        y_pred = nn.Linear(1, 1)(torch.zeros(5, 1))
    w = torch.ones(1, requires_grad=True)
    (w * y_pred).sum().backward()


def _backward_twice() -> None:
    w = torch.ones(1, requires_grad=True)
    loss = (w * torch.ones(1)).pow(2).sum()
    loss.backward()
    loss.backward()


def _weights_only(folder: Path) -> None:
    torch.save(TinyModel(), folder / "whole.pt")
    torch.load(folder / "whole.pt", weights_only=True)


def _weights_only_allowed_class(folder: Path) -> None:
    """Allowing the model's class is not enough: the layers inside it are refused next."""
    torch.save(TinyModel(), folder / "whole.pt")
    with torch.serialization.safe_globals([TinyModel]):
        torch.load(folder / "whole.pt", weights_only=True)


def _port_in_use() -> None:
    """What torchrun meets when --master-port is taken: its store cannot listen there."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            torch.distributed.TCPStore("127.0.0.1", port, is_master=True)
        except RuntimeError as err:
            raise type(err)(str(err).replace(f"port: {port},", "port: 29500,")) from None  # torchrun's default


def _state_dict_keys() -> None:
    import helpers  # notebook 06's case: the line's state_dict into its nn.Linear version

    helpers.LinearRegressionModelV2().load_state_dict(helpers.LinearRegressionModel().state_dict())


def _gpu_file_on_cpu(folder: Path) -> None:
    """A GPU file asks torch.load to put its storages on cuda:0; map_location="cuda:0" asks the same of any file."""
    if torch.cuda.is_available():
        raise RuntimeError("(this machine has a GPU: the file would load; nothing to show)")
    torch.save({"weight": torch.ones(1)}, folder / "weights.pt")
    torch.load(folder / "weights.pt", map_location="cuda:0", weights_only=True)


def _rank_fails() -> str:
    """torchrun's summary when rank 1 raises and rank 0 is stopped: torch's own ChildFailedError, as torchrun
    builds it (no launch: the report's format is what changes between versions, not the launch)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    failed = ProcessFailure(local_rank=1, pid=101, exitcode=1, error_file="<N/A>")
    stopped = ProcessFailure(local_rank=0, pid=100, exitcode=-15, error_file="<N/A>")
    stopped.timestamp = failed.timestamp + 1  # rank 1 failed first, then torchrun stopped rank 0
    error = ChildFailedError("train.py", {0: stopped, 1: failed})
    text = " ".join(str(error).split())  # one line, single spaces
    heading = re.search(r"Root Cause \([^)]*\):", text)
    root = text[heading.end():]  # the first failure's entry: its rank and exit code
    rank = re.search(r"rank : \d+ \(local_rank: \d+\)", root).group()
    exitcode = re.search(r"exitcode : -?\d+", root).group()
    return f"{type(error).__module__}.{type(error).__name__}: ... {heading.group()} ... {rank} ... {exitcode}"


def _silent_set_epoch() -> str:
    from torch.utils.data.distributed import DistributedSampler

    sampler = DistributedSampler(range(8), num_replicas=2, rank=0, shuffle=True, seed=0)
    orders = [list(sampler) for _ in range(2)]  # two epochs, no sampler.set_epoch(epoch) between them
    return f"no error: without set_epoch, rank 0 reads {orders[0]} in epoch 0 and {orders[1]} in epoch 1"


def _silent_zero_grad() -> str:
    w = torch.ones(1, requires_grad=True)
    for _ in range(2):
        (2 * w).sum().backward()  # no zero_grad between the two
    return f"no error: w.grad is {w.grad.item():.0f} after two backward() calls, not 2 (they add up)"


def _silent_eval() -> str:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = torch.ones(1, 4)
    with torch.inference_mode():
        same_train = torch.equal(model(x), model(x))
        model.eval()
        same_eval = torch.equal(model(x), model(x))
    return f"no error: in train mode two predictions agree: {same_train}; after model.eval(): {same_eval}"


def first_lines() -> dict[str, str]:
    """Return {case: 'ErrorType: first line of the message'} for every case."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases: dict[str, Callable] = {
            "shape": _shape, "broadcast": _broadcast, "dtype": _dtype, "device": _device,
            "leaf in place": _leaf_in_place, "numpy of grad": _numpy_of_grad, "numpy of a device tensor": _numpy_of_device,
            "inference tensor in place": _inference_in_place, "inference tensor in autograd": _inference_in_autograd,
            "backward twice": _backward_twice, "weights_only": lambda: _weights_only(Path(tmp)),
            "weights_only, class allowed": lambda: _weights_only_allowed_class(Path(tmp)),
            "state_dict keys": _state_dict_keys, "GPU file on CPU": lambda: _gpu_file_on_cpu(Path(tmp)),
            "port in use": _port_in_use,
        }
        for name, case in cases.items():
            try:
                case()
                out[name] = "(no error)"
            except (RuntimeError, TypeError, UserWarning, pickle.UnpicklingError) as err:
                lines = str(err).splitlines()
                weights = [line.strip() for line in lines if "Unsupported global" in line]
                first = lines[0].replace("\x1b[1m", "").replace("\x1b[0m", "")
                if first.endswith(":") and len(lines) > 1:  # the first line only announces the next
                    first += " " + lines[1].strip()
                out[name] = f"{type(err).__name__}: {first}" + (f" ... {weights[0]}" if weights else "")
    out["forgotten zero_grad"] = _silent_zero_grad()
    out["forgotten eval"] = _silent_eval()
    out["forgotten set_epoch"] = _silent_set_epoch()
    out["a rank that raises"] = _rank_fails()
    return out


if __name__ == "__main__":
    print(f"torch {torch.__version__}")
    for case, line in first_lines().items():
        print(f"{case}: {line}")
