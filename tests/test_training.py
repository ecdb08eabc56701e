"""train_step, test_step and fit, checked against the hand-written loop and the reference numbers.

The fixture `split` is the ordered 40/10 split; fit uses its last 10 points as validation data."""

import re

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers


def _reference_loop(model, X_train, y_train, X_val, y_val, epochs, lr=0.01):
    """The course's loop written out, to compare helpers.fit against."""
    loss_fn, optimizer = nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=lr)
    train_losses, val_losses = [], []
    for _ in range(epochs):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.inference_mode():
            val_losses.append(loss_fn(model(X_val), y_val).item())
        train_losses.append(loss.item())
    return train_losses, val_losses


def test_fit_reaches_the_reference_numbers_after_100_epochs(split, seeded):
    X_train, y_train, X_val, y_val = split
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = helpers.fit(model, (X_train, y_train), (X_val, y_val), nn.L1Loss(), optimizer, 100)
    assert round(model.weights.item(), 4) == 0.5784 and round(model.bias.item(), 4) == 0.3513
    assert history.epochs == list(range(1, 101))
    assert all(type(v) is float for v in history.train_loss + history.val_loss)


def test_fit_and_history_name_the_validation_data():
    import dataclasses
    import inspect

    assert list(inspect.signature(helpers.fit).parameters)[:3] == ["model", "train_data", "val_data"]
    assert [f.name for f in dataclasses.fields(helpers.History)] == ["epochs", "train_loss", "val_loss"]


def test_fit_with_val_data_by_keyword_measures_it_and_not_the_training_data(split, seeded):
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = helpers.fit(model, train_data=split[:2], val_data=split[2:], loss_fn=nn.L1Loss(), optimizer=optimizer, epochs=3)
    assert history.val_loss[-1] == pytest.approx(helpers.test_step(model, *split[2:], nn.L1Loss()))
    assert history.val_loss[-1] != pytest.approx(helpers.test_step(model, *split[:2], nn.L1Loss()))


def test_fit_matches_the_hand_written_loop_exactly(split):
    torch.manual_seed(42)
    by_hand = helpers.LinearRegressionModel()
    train_ref, val_ref = _reference_loop(by_hand, *split, epochs=30)
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = helpers.fit(model, split[:2], split[2:], nn.L1Loss(), optimizer, 30)
    assert history.train_loss == train_ref and history.val_loss == val_ref
    assert torch.equal(model.weights, by_hand.weights) and torch.equal(model.bias, by_hand.bias)


def test_eval_every_records_every_kth_epoch_and_the_last(split, seeded):
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = helpers.fit(model, split[:2], split[2:], nn.L1Loss(), optimizer, 25, eval_every=10)
    assert history.epochs == [10, 20, 25]
    assert len(history.train_loss) == len(history.val_loss) == 3


def test_train_step_does_the_five_steps_and_returns_the_loss_before_the_update(split, seeded):
    X, y = split[0], split[1]
    model = helpers.LinearRegressionModel()
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = nn.L1Loss()(model(X), y).item()
    loss = helpers.train_step(model, X, y, nn.L1Loss(), optimizer)
    assert model.training and loss == pytest.approx(before)
    assert helpers.test_step(model, X, y, nn.L1Loss()) < before  # the step went downhill
    # a second step starts from zeroed gradients: its gradient is that of one step, not two summed
    grad_w = model.weights.grad.clone()
    helpers.train_step(model, X, y, nn.L1Loss(), optimizer)
    assert model.weights.grad.abs().item() == pytest.approx(grad_w.abs().item(), rel=0.2)


def test_test_step_is_eval_mode_inference_and_does_not_change_the_model(split, seeded):
    model = helpers.LinearRegressionModel()
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_inference_mode_enabled())))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    loss = helpers.test_step(model, split[2], split[3], nn.MSELoss())
    assert seen == [(False, True)]
    assert loss == pytest.approx(nn.MSELoss()(model(split[2]), split[3]).item())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_fit_with_a_dataloader_takes_one_step_per_batch(split, seeded):
    X_train, y_train, X_val, y_val = split
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    steps = []
    optimizer.register_step_post_hook(lambda *a: steps.append(1))
    train = DataLoader(TensorDataset(X_train, y_train), batch_size=8, shuffle=True)
    val = DataLoader(TensorDataset(X_val, y_val), batch_size=4)
    history = helpers.fit(model, train, val, nn.MSELoss(), optimizer, 60)
    assert len(steps) == 60 * 5
    assert history.val_loss[-1] < 1e-3 < history.val_loss[0]
    # validation loss over batches of 4, 4, 2 is the size-weighted mean, i.e. the full-set loss
    full = helpers.test_step(model, X_val, y_val, nn.MSELoss())
    assert history.val_loss[-1] == pytest.approx(full, rel=1e-5)


def test_fit_runs_where_the_model_is_when_no_device_is_given(split, seeded):
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    devices = []
    model.register_forward_hook(lambda m, i, o: devices.append(i[0].device))
    helpers.fit(model, split[:2], split[2:], nn.L1Loss(), optimizer, 2)
    assert devices and all(d == torch.device("cpu") for d in devices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_moves_model_and_cpu_data_to_cuda(split, seeded):
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    history = helpers.fit(model, split[:2], split[2:], nn.L1Loss(), optimizer, 3, device="cuda")
    assert next(model.parameters()).is_cuda and all(type(v) is float for v in history.val_loss)


def test_fit_progress_bar_shows_epochs(split, seeded, capsys):
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    helpers.fit(model, split[:2], split[2:], nn.L1Loss(), optimizer, 5, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "val_loss" in err


def test_fit_does_not_load_the_notebook_progress_bar_without_progress(split):
    import subprocess
    import sys

    code = (
        "import sys, torch, helpers\n"
        "X, y = helpers.make_line_data(); m = helpers.LinearRegressionModel()\n"
        "helpers.fit(m, (X, y), (X, y), torch.nn.L1Loss(), torch.optim.SGD(m.parameters(), lr=0.01), 2)\n"
        "print('tqdm.auto' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- bad input: refused before the first update, with the argument named and the fix ------------------


def _run(**change):
    """fit on the line with the given arguments changed; returns (model, its parameters before, the error)."""
    torch.manual_seed(0)
    X, y = helpers.make_line_data()
    model = change.pop("model", None) or helpers.LinearRegressionModelV2()
    args = {"model": model, "train_data": (X[:40], y[:40]), "val_data": (X[40:], y[40:]), "loss_fn": nn.MSELoss(),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.1), "epochs": 3}
    args.update(change)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises((ValueError, TypeError)) as err:
        helpers.fit(**args)
    return model, before, err


def _untouched(model, before):
    return all(torch.equal(before[k], v) for k, v in model.state_dict().items())


X_LINE, Y_LINE = helpers.make_line_data()
Y_FLAT = Y_LINE.squeeze(1)
NAN_X = X_LINE.clone()
NAN_X[[3, 7]] = float("nan")


@pytest.mark.parametrize("change, error, match", [
    # silently wrong before: a loss that broadcasts [N] targets against [N, 1] predictions
    ({"train_data": (X_LINE[:40], Y_FLAT[:40]), "val_data": (X_LINE[40:], Y_FLAT[40:])}, ValueError,
     r"predictions have shape \[40, 1\] but the targets \(train_data\[1\]\) have shape \[40\].*to \[40, 40\].*y = y.unsqueeze\(1\)"),
    ({"train_data": (X_LINE[:40], Y_FLAT[:40]), "val_data": (X_LINE[40:], Y_FLAT[40:]),
      "loss_fn": lambda a, b: nn.functional.l1_loss(a, b)}, ValueError, r"shape \[40\].*y = y.unsqueeze\(1\)"),
    ({"train_data": (X_LINE[:40], Y_LINE[:40, :, None]), "val_data": (X_LINE[40:], Y_LINE[40:, :, None])}, ValueError,
     r"y = y.squeeze\(-1\)"),
    ({"optimizer": torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)}, ValueError,
     "optimizer holds none of model's parameters.*made for another model"),
    ({"train_data": (NAN_X[:40], Y_LINE[:40])}, ValueError,
     r"train_data\[0\] holds 2 NaN or infinite value\(s\) \(first rows: \[3, 7\]\)"),
    ({"val_data": (X_LINE[40:], torch.full((10, 1), float("inf")))}, ValueError, r"val_data\[1\] holds 10 NaN or infinite"),
    # deep errors before
    ({"device": "gpu"}, ValueError, "device='gpu' is not a device name.*helpers.get_device"),
    ({"loss_fn": nn.MSELoss}, TypeError, r"loss_fn must be a loss function, got the class MSELoss.*MSELoss\(\)"),
    ({"optimizer": torch.optim.SGD}, TypeError, r"optimizer must be a torch.optim.Optimizer, got the class SGD"),
    ({"optimizer": None}, TypeError, "optimizer must be a torch.optim.Optimizer, got NoneType"),
    ({"train_data": (X_LINE[:40].double(), Y_LINE[:40])}, TypeError,
     r"train_data\[0\] holds floating-point numbers of dtype torch.float64, but the model's parameters are torch.float32"),
    ({"train_data": ((X_LINE[:40] * 50).long(), Y_LINE[:40])}, TypeError, r"train_data\[0\] holds integer numbers.*X.float\(\)"),
    ({"train_data": DataLoader(TensorDataset(X_LINE[:40]), batch_size=8)}, ValueError,
     r"train_data yields batches of 1 item\(s\), not \(X, y\) pairs.*TensorDataset\(X, y\)"),
    ({"train_data": DataLoader(X_LINE[:40], batch_size=8)}, ValueError, "train_data yields single tensors"),
    ({"train_data": DataLoader(TensorDataset(X_LINE[:40], Y_LINE[:40]), batch_size=64, drop_last=True)}, ValueError,
     "train_data yields no batches: drop_last=True .* 40 samples < batch_size=64; use drop_last=False or a smaller batch_size"),
    ({"val_data": DataLoader(TensorDataset(X_LINE[:0], Y_LINE[:0]), batch_size=4)}, ValueError,
     "val_data yields no batches: its dataset is empty"),
    ({"train_data": TensorDataset(X_LINE[:40], Y_LINE[:40])}, TypeError, r"train_data is a TensorDataset, not a DataLoader"),
    ({"train_data": (X_LINE[:0], Y_LINE[:0])}, ValueError, r"train_data\[0\] is empty"),
    ({"val_data": (X_LINE[40:], Y_FLAT[40:])}, ValueError,
     r"val_data\[1\] has shape \[10\] but train_data\[1\] has shape \[40, 1\]"),
    ({"loss_fn": nn.MSELoss(reduction="none")}, ValueError, "loss_fn must return one number.*reduction='mean'"),
    ({"loss_fn": lambda a, b: (a - b).abs().mean().item()}, ValueError, "got float.*no .item"),
    ({"progress": "yes"}, TypeError, "progress must be True or False"),
])
def test_fit_refuses_bad_input_before_the_first_update(change, error, match):
    model, before, err = _run(**change)
    assert err.type is error and re.search(match, str(err.value)), str(err.value)
    assert _untouched(model, before)


def test_fit_refuses_a_model_class_a_device_without_cuda_and_a_frozen_model(split):
    optimizer = torch.optim.SGD(helpers.LinearRegressionModel().parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"got the class LinearRegressionModel: .*LinearRegressionModel\(\)"):
        helpers.fit(helpers.LinearRegressionModel, split[:2], split[2:], nn.L1Loss(), optimizer, 1)
    if not torch.cuda.is_available():
        _, _, err = _run(device="cuda")
        assert "no CUDA GPU (torch.cuda.is_available() is False)" in str(err.value)
    frozen = helpers.LinearRegressionModelV2().requires_grad_(False)
    _, _, err = _run(model=frozen)
    assert "every parameter the optimizer holds is frozen" in str(err.value)


def test_fit_on_a_loader_checks_its_first_batch():
    batches = DataLoader(TensorDataset(X_LINE[:40], Y_FLAT[:40]), batch_size=8)
    model, before, err = _run(train_data=batches)
    assert "targets (y in train_data's batches) have shape [8]" in str(err.value) and _untouched(model, before)
    nan_first = DataLoader(TensorDataset(NAN_X[:40], Y_LINE[:40]), batch_size=8)
    _, _, err = _run(train_data=nan_first)
    assert "X in train_data's batches holds 2 NaN" in str(err.value)


def test_a_validation_loader_with_the_wrong_shape_is_named():
    val = DataLoader(TensorDataset(X_LINE[40:], Y_FLAT[40:]), batch_size=4)
    _, _, err = _run(val_data=val)
    assert "targets (y in val_data's batches) have shape [4]" in str(err.value)


@pytest.mark.parametrize("labels, error, match", [
    (torch.arange(20) % 4 * 1.0, TypeError, r"class labels as torch.float32; CrossEntropyLoss needs torch.long: y = y.long\(\)"),
    (torch.full((20,), 4), ValueError, "holds the label 4, but the model gives 4 scores per sample, for the classes 0 to 3"),
    (torch.full((20,), -1), ValueError, "holds the label -1"),
    ((torch.arange(20) % 4)[:, None], ValueError, r"one class label per sample, shape \[20\], got \[20, 1\]: use y.squeeze\(1\)"),
])
def test_fit_checks_class_labels_for_cross_entropy(labels, error, match):
    model = nn.Linear(3, 4)
    X = torch.rand(20, 3)
    with pytest.raises(error, match=match):
        helpers.fit(model, (X, labels), (X, labels), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 1)


def test_fit_takes_what_is_right_though_it_looks_odd():
    X = torch.rand(20, 3)
    soft = torch.softmax(torch.rand(20, 4), dim=1)  # class probabilities as targets, hard labels to validate
    model = nn.Linear(3, 4)
    helpers.fit(model, (X, soft), (X, soft.argmax(1)), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 2)
    ignored = torch.arange(20) % 4
    ignored[:5] = -100  # CrossEntropyLoss's ignore_index
    helpers.fit(model, (X, ignored), (X, ignored), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 1)
    embed = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(8, 1))  # integer ids are its input
    ids = torch.randint(0, 10, (16, 2))
    helpers.fit(embed, (ids, torch.rand(16, 1)), (ids, torch.rand(16, 1)), nn.MSELoss(),
                torch.optim.SGD(embed.parameters(), lr=0.1), 2)
    squeeze = lambda a, b: nn.functional.mse_loss(a.squeeze(1), b)  # noqa: E731 - its own shapes, handled inside
    line = helpers.LinearRegressionModelV2()
    helpers.fit(line, (X_LINE, Y_FLAT), (X_LINE, Y_FLAT), squeeze, torch.optim.SGD(line.parameters(), lr=0.1), 2)


def test_a_model_whose_parameters_hold_nan_is_named_at_the_first_step():
    model = helpers.LinearRegressionModelV2()
    with torch.no_grad():
        model.linear_layer.weight.fill_(float("nan"))
    _, _, err = _run(model=model)
    assert "the first loss is nan although the data are finite" in str(err.value)


def test_the_checks_run_once_per_call_not_at_every_step(monkeypatch):
    from helpers import training

    calls = []
    checked = training._checked_loss
    monkeypatch.setattr(training, "_checked_loss", lambda *a, **k: calls.append(1) or checked(*a, **k))
    model = helpers.LinearRegressionModelV2()
    train = DataLoader(TensorDataset(X_LINE[:40], Y_LINE[:40]), batch_size=8)  # 5 batches
    val = DataLoader(TensorDataset(X_LINE[40:], Y_LINE[40:]), batch_size=4)  # 3 batches
    helpers.fit(model, train, val, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), 4)
    assert len(calls) == 2  # the first training batch and the first validation batch, of 32 in all


def test_train_step_and_test_step_name_a_class_where_an_instance_belongs(split):
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="loss_fn must be a loss function, got the class L1Loss"):
        helpers.train_step(model, split[0], split[1], nn.L1Loss, optimizer)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got NoneType"):
        helpers.train_step(model, split[0], split[1], nn.L1Loss(), None)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got the class"):
        helpers.test_step(helpers.LinearRegressionModel, split[2], split[3], nn.L1Loss())
