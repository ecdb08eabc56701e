"""predict, the metrics, and the closed-form least-squares fit."""

import pytest
import torch

import helpers


def test_predict_uses_eval_mode_and_inference_mode(line, seeded):
    model = helpers.LinearRegressionModel()
    model.train()
    y_hat = helpers.predict(model, line[0])
    assert not model.training and y_hat.is_inference() and not y_hat.requires_grad
    assert torch.allclose(y_hat, model.weights.detach() * line[0] + model.bias.detach())


def test_metrics_on_known_numbers():
    y_true = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y_pred = torch.tensor([[1.5], [2.0], [2.0], [4.0]])
    assert helpers.mae(y_pred, y_true) == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert helpers.mse(y_pred, y_true) == pytest.approx((0.25 + 0 + 1 + 0) / 4)
    assert helpers.mae(y_true, y_true) == 0.0


def test_metrics_match_torch_losses(line, seeded):
    y_pred = line[1] + 0.1 * torch.randn_like(line[1])
    assert helpers.mae(y_pred, line[1]) == pytest.approx(torch.nn.L1Loss()(y_pred, line[1]).item())
    assert helpers.mse(y_pred, line[1]) == pytest.approx(torch.nn.MSELoss()(y_pred, line[1]).item())


def test_least_squares_recovers_the_line_exactly_and_beats_any_other_line(line):
    w, b = helpers.least_squares_fit(*line)
    assert w == pytest.approx(0.7, abs=1e-6) and b == pytest.approx(0.3, abs=1e-6)
    X, y = helpers.make_line_data(noise_std=0.1, seed=0)
    w, b = helpers.least_squares_fit(X, y)
    best = helpers.mse(w * X + b, y)
    for dw, db in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert helpers.mse((w + dw) * X + (b + db), y) > best
