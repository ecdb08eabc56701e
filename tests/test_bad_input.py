"""Bad input anywhere gets a clear ValueError/TypeError/FileNotFoundError that names the argument."""

import pytest
import torch
from torch import nn

import helpers

X, y = helpers.make_line_data()
MODEL = helpers.LinearRegressionModel()
OPT = torch.optim.SGD(MODEL.parameters(), lr=0.01)
L1 = nn.L1Loss()

CASES = [
    # make_line_data
    ("step zero", lambda: helpers.make_line_data(step=0), ValueError, "step must be greater than 0"),
    ("step negative", lambda: helpers.make_line_data(step=-0.1), ValueError, "step"),
    ("end before start", lambda: helpers.make_line_data(start=1, end=0), ValueError, "end must be greater than start"),
    ("end equals start", lambda: helpers.make_line_data(start=0.5, end=0.5), ValueError, "end"),
    ("negative noise", lambda: helpers.make_line_data(noise_std=-0.1), ValueError, "noise_std must be 0 or more"),
    ("weight as text", lambda: helpers.make_line_data(weight="0.7"), TypeError, "weight must be a number"),
    ("bias as None", lambda: helpers.make_line_data(bias=None), TypeError, "bias must be a number"),
    ("nan weight", lambda: helpers.make_line_data(weight=float("nan")), ValueError, "weight must be a finite"),
    ("infinite end", lambda: helpers.make_line_data(end=float("inf")), ValueError, "end must be a finite"),
    ("bool step", lambda: helpers.make_line_data(step=True), TypeError, "step must be a number"),
    ("float seed", lambda: helpers.make_line_data(noise_std=0.1, seed=1.5), TypeError, "seed must be an int"),
    ("negative seed", lambda: helpers.make_line_data(noise_std=0.1, seed=-1), ValueError, "seed must be at least 0"),
    ("too many points", lambda: helpers.make_line_data(step=1e-9), ValueError, "larger step"),
    # train_test_split
    ("fraction 0", lambda: helpers.train_test_split(X, y, 0.0), ValueError, "train_fraction must be between 0 and 1"),
    ("fraction 1", lambda: helpers.train_test_split(X, y, 1.0), ValueError, "train_fraction"),
    ("fraction 80", lambda: helpers.train_test_split(X, y, 80), ValueError, "train_fraction"),
    ("fraction text", lambda: helpers.train_test_split(X, y, "0.8"), TypeError, "train_fraction must be a number"),
    ("lengths differ", lambda: helpers.train_test_split(X, y[:-1]), ValueError, "X and y must have the same number of rows"),
    ("list X", lambda: helpers.train_test_split([1.0, 2.0], y[:2]), TypeError, r"X must be a torch.Tensor.*torch.tensor"),
    ("scalar y", lambda: helpers.train_test_split(X, torch.tensor(1.0)), ValueError, "y must have at least 1 dimension"),
    ("empty train set", lambda: helpers.train_test_split(X[:3], y[:3], 0.2), ValueError, "at least one row"),
    ("shuffle as text", lambda: helpers.train_test_split(X, y, shuffle="yes"), TypeError, "shuffle must be True or False"),
    ("three-way sum 1", lambda: helpers.train_val_test_split(X, y, 0.8, 0.2), ValueError, r"train_fraction \+ val_fraction"),
    ("val fraction 0", lambda: helpers.train_val_test_split(X, y, 0.5, 0), ValueError, "val_fraction"),
    ("three-way too few", lambda: helpers.train_val_test_split(X[:4], y[:4], 0.5, 0.2), ValueError, "no rows for validation"),
    # plot_predictions / plot_loss_curves
    ("plot lists", lambda: helpers.plot_predictions([0.1], [0.2], X, y), TypeError, "train_data must be a torch.Tensor"),
    ("plot label length", lambda: helpers.plot_predictions(X, y[:3], X, y), ValueError, "train_data and train_labels"),
    ("plot predictions length", lambda: helpers.plot_predictions(X, y, X[:10], y[:10], predictions=y), ValueError, "predictions must have one row per test point"),
    ("loss curves of a list", lambda: helpers.plot_loss_curves([0.1, 0.2]), TypeError, "history must be a History"),
    ("loss curves uneven", lambda: helpers.plot_loss_curves({"epochs": [1], "train_loss": [1, 2], "val_loss": [1]}), ValueError, "same length"),
    ("loss curves old key", lambda: helpers.plot_loss_curves({"epochs": [1], "train_loss": [1], "test_loss": [1]}), TypeError, "'val_loss'"),
    ("plot held_out", lambda: helpers.plot_predictions(X, y, X, y, held_out="val"), ValueError, "held_out must be 'test' or 'validation'"),
    ("plot predictions length, validation", lambda: helpers.plot_predictions(X, y, X[:10], y[:10], predictions=y, held_out="validation"), ValueError, "one row per validation point"),
    # training
    ("train_step not a model", lambda: helpers.train_step("model", X, y, L1, OPT), TypeError, "model must be a torch.nn.Module"),
    ("train_step not an optimizer", lambda: helpers.train_step(MODEL, X, y, L1, 0.01), TypeError, "optimizer must be a torch.optim.Optimizer"),
    ("test_step loss not callable", lambda: helpers.test_step(MODEL, X, y, "L1"), TypeError, "loss_fn must be callable"),
    ("test_step lengths", lambda: helpers.test_step(MODEL, X, y[:5], L1), ValueError, "same number of rows"),
    ("fit epochs 0", lambda: helpers.fit(MODEL, (X, y), (X, y), L1, OPT, 0), ValueError, "epochs must be at least 1"),
    ("fit epochs float", lambda: helpers.fit(MODEL, (X, y), (X, y), L1, OPT, 10.0), TypeError, "epochs must be an int"),
    ("fit eval_every 0", lambda: helpers.fit(MODEL, (X, y), (X, y), L1, OPT, 1, eval_every=0), ValueError, "eval_every"),
    ("fit data not a pair", lambda: helpers.fit(MODEL, X, (X, y), L1, OPT, 1), TypeError, r"train_data must be an \(X, y\) tuple"),
    ("fit val lengths", lambda: helpers.fit(MODEL, (X, y), (X, y[:2]), L1, OPT, 1), ValueError, r"val_data\[0\] and val_data\[1\]"),
    ("fit val not a pair", lambda: helpers.fit(MODEL, (X, y), X, L1, OPT, 1), TypeError, r"val_data must be an \(X, y\) tuple"),
    # evaluation
    ("mae shapes", lambda: helpers.mae(y.squeeze(), y), ValueError, "y_pred and y_true must have the same shape"),
    ("mse non-tensor", lambda: helpers.mse([1.0], y), TypeError, "y_pred must be a torch.Tensor"),
    ("predict not a model", lambda: helpers.predict(lambda x: x, X), TypeError, "model must be a torch.nn.Module"),
    ("lstsq one point", lambda: helpers.least_squares_fit(X[:1], y[:1]), ValueError, "at least 2 points"),
    ("lstsq wide X", lambda: helpers.least_squares_fit(torch.ones(5, 2), torch.ones(5, 1)), ValueError, r"shape \[N, 1\]"),
    # saving / device
    ("save not a model", lambda: helpers.save_model({"w": 1}, "m.pt"), TypeError, "model must be a torch.nn.Module"),
    ("save path number", lambda: helpers.save_model(MODEL, 42), TypeError, "path must be a str or pathlib.Path"),
    ("checkpoint negative epoch", lambda: helpers.save_checkpoint("c.pt", MODEL, OPT, -1), ValueError, "epoch must be at least 0"),
    ("checkpoint no optimizer", lambda: helpers.save_checkpoint("c.pt", MODEL, None, 1), TypeError, "optimizer must be"),
    ("load_checkpoint bad optimizer", lambda: helpers.load_checkpoint("c.pt", MODEL, "adam"), TypeError, "optimizer must be"),
    ("set_seed text", lambda: helpers.set_seed("42"), TypeError, "seed must be an int"),
    ("csv missing", lambda: helpers.load_line_csv("no/such/file.csv"), FileNotFoundError, "no/such/file.csv"),
    ("csv wide X", lambda: helpers.save_line_csv("x.csv", torch.ones(3, 2), torch.ones(3, 1)), ValueError, r"shape \[N\] or \[N, 1\]"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(call, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written where the test runs from
    with pytest.raises(error, match=message):
        call()
    assert list(tmp_path.iterdir()) == []


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    "text, line",
    [("x,y\n0.1,0.2\n0.3\n", 3), ("x,y\n0.1,abc\n", 2), ("x,y\n1,2,3\n", 2)],
)
def test_malformed_csv_names_file_and_line(tmp_path, text, line):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad.csv, line {line}"):
        helpers.load_line_csv(path)


def test_csv_without_header_or_rows(tmp_path):
    (tmp_path / "a.csv").write_text("0.1,0.2\n")
    (tmp_path / "b.csv").write_text("x,y\n")
    with pytest.raises(ValueError, match="header"):
        helpers.load_line_csv(tmp_path / "a.csv")
    with pytest.raises(ValueError, match="no rows"):
        helpers.load_line_csv(tmp_path / "b.csv")


def test_shared_checks_accept_what_is_right_at_the_edges():
    from torch.utils.data import DataLoader, IterableDataset

    from helpers import _checks

    huge = torch.full((4, 1), 3e38)  # its sum overflows to inf, yet every value is finite
    assert _checks.check_finite("X", huge) is huge
    with pytest.raises(ValueError, match=r"X holds 1 NaN or infinite value\(s\) \(first rows: \[2\]\)"):
        _checks.check_finite("X", torch.tensor([[1.0], [2.0], [float("-inf")], [4.0]]))
    assert _checks.check_device("device", torch.device("cpu")) == torch.device("cpu")
    assert _checks.check_device("device", "meta").type == "meta"

    class Stream(IterableDataset):
        def __iter__(self):
            return iter([(torch.zeros(1), torch.zeros(1))])

    stream = DataLoader(Stream(), batch_size=None)
    assert _checks.check_loader("loader", stream) is stream  # no length to look at: the loop finds out


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_an_apple_gpu_is_named():
    from helpers import _checks

    with pytest.raises(ValueError, match="device='mps', but MPS .* is not available here"):
        _checks.check_device("device", "mps")
