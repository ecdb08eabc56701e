"""train_step, test_step and fit, checked against the hand-written loop and the reference numbers.

The fixture `split` is the ordered 40/10 split; fit uses its last 10 points as validation data."""

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
