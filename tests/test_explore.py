"""The numbers behind the explorers equal what torch computes for a real model."""

import pytest
import torch
from torch import nn

import helpers
from helpers import explore


def _model(weight, bias):
    model = helpers.LinearRegressionModel()
    with torch.no_grad():
        model.weights.fill_(weight)
        model.bias.fill_(bias)
    return model


@pytest.mark.parametrize("weight, bias", [(0.3367, 0.1288), (-1.0, 1.5), (0.7, 0.3)])
def test_losses_at_equal_the_losses_of_a_model_with_those_parameters(split, weight, bias):
    X, y = split[0], split[1]
    y_pred = _model(weight, bias)(X)
    losses = explore.losses_at(X, y, weight, bias)
    assert losses["L1"] == pytest.approx(nn.L1Loss()(y_pred, y).item(), abs=1e-7)
    assert losses["MSE"] == pytest.approx(nn.MSELoss()(y_pred, y).item(), abs=1e-7)


@pytest.mark.parametrize("loss", ["L1", "MSE"])
def test_gradient_step_matches_an_sgd_step_by_autograd(split, loss):
    X, y = split[0], split[1]
    model = _model(0.3367, 0.1288)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    helpers.train_step(model, X, y, explore.LOSSES[loss](), optimizer)
    w, b = explore.gradient_step(X, y, 0.3367, 0.1288, lr=0.1, loss=loss)
    assert w == pytest.approx(model.weights.item(), abs=1e-6) and b == pytest.approx(model.bias.item(), abs=1e-6)


def test_gradient_steps_go_downhill_and_the_optimum_does_not_move(split):
    X, y = split[0], split[1]
    w, b = 0.0, 0.0
    before = explore.losses_at(X, y, w, b)["MSE"]
    w, b = explore.gradient_step(X, y, w, b, lr=0.5)
    assert explore.losses_at(X, y, w, b)["MSE"] < before
    w_star, b_star = helpers.least_squares_fit(X, y)
    assert explore.gradient_step(X, y, w_star, b_star, lr=0.5) == pytest.approx((w_star, b_star), abs=1e-5)


@pytest.mark.parametrize("loss", ["L1", "MSE"])
def test_loss_grid_agrees_with_losses_at(split, loss):
    X, y = split[0], split[1]
    ws, bs = torch.linspace(-1, 2, 7), torch.linspace(-1, 1.5, 5)
    grid = explore.loss_grid(X, y, ws, bs, loss)
    assert grid.shape == (5, 7)
    for i in (0, 2, 4):
        for j in (0, 3, 6):
            expected = explore.losses_at(X, y, ws[j].item(), bs[i].item())[loss]
            assert grid[i, j].item() == pytest.approx(expected, rel=1e-5)


def test_split_summary_ordered_extrapolates_and_shuffled_mostly_interpolates(line):
    X, y = line
    ordered = explore.split_summary(X, y, 0.8, False, None)
    assert ordered["outside"] == 10 and ordered["train_range"] == pytest.approx((0.0, 0.78))
    shuffled = explore.split_summary(X, y, 0.8, True, 0)
    assert shuffled["outside"] < 10
    assert ordered["weight"] == pytest.approx(0.7, abs=1e-5) and ordered["test_mse"] < 1e-10


def test_train_run_matches_fit_and_the_reference_numbers(split):
    run = explore.train_run(split[:2], split[2:], lr=0.01, epochs=100, loss="L1", optimizer="SGD")
    assert run.diverged_at is None and len(run.path) == 101
    assert run.path[0] == pytest.approx((0.3367, 0.1288), abs=1e-4)
    assert run.path[-1] == pytest.approx((0.5784, 0.3513), abs=1e-4)
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    history = helpers.fit(model, split[:2], split[2:], nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), 100)
    assert run.history.val_loss == history.val_loss


def test_train_run_stops_when_the_loss_diverges(split):
    run = explore.train_run(split[:2], split[2:], lr=10.0, epochs=200, loss="MSE", optimizer="SGD")
    assert run.diverged_at is not None and run.diverged_at < 200
    assert len(run.history.epochs) == run.diverged_at - 1
    assert all(abs(v) < explore.DIVERGED for v in run.history.train_loss)


def test_train_run_leaves_the_global_rng_and_the_given_model_alone(split):
    model = helpers.LinearRegressionModelV2()
    before = [p.clone() for p in model.parameters()]
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    run = explore.train_run(split[:2], split[2:], lr=0.1, epochs=5, model=model)
    assert torch.equal(torch.rand(1), expected)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert run.model is not model and len(run.path) == 6


def test_two_parameters_only_for_weight_and_bias_models():
    assert explore.two_parameters(_model(0.5, 0.25)) == (0.5, 0.25)
    assert explore.two_parameters(nn.Linear(2, 1)) is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X, y: explore.gradient_step(X, y, 0, 0, lr=0), "lr must be greater than 0"),
        (lambda X, y: explore.gradient_step(X, y, 0, 0, lr=0.1, loss="Huber"), r"loss must be one of \['L1', 'MSE'\]"),
        (lambda X, y: explore.train_run((X, y), (X, y), lr=0.1, epochs=1, optimizer="RMSprop"), "optimizer must be one of"),
        (lambda X, y: explore.train_run((X, y), (X, y), lr=-1, epochs=1), "lr must be greater than 0"),
    ],
)
def test_bad_choices_are_named(line, call, message):
    with pytest.raises(ValueError, match=message):
        call(*line)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda X, y: explore.loss_grid(X, y, [0.5, 0.7], torch.tensor([0.3])), TypeError, "weights must be a torch.Tensor"),
        (lambda X, y: explore.two_parameters("model"), TypeError, "model must be a torch.nn.Module"),
        (lambda X, y: explore.train_run(X, (X, y), lr=0.1, epochs=1), TypeError, r"train_data must be an \(X, y\) tuple"),
        (lambda X, y: explore.train_run((X, y.squeeze(1)), (X, y), lr=0.1, epochs=1), ValueError,
         r"targets \(train_data\[1\]\) have shape \[50\].*y = y.unsqueeze\(1\)"),
    ],
)
def test_bad_arguments_are_named(line, call, error, message):
    with pytest.raises(error, match=message):
        call(*line)
