"""predict, the metrics, and the closed-form least-squares fit."""

import pytest
import torch

import helpers


def test_predict_uses_eval_mode_and_inference_mode(line, seeded):
    model = helpers.LinearRegressionModel()
    model.train()
    y_hat = helpers.predict(model, line[0])
    assert y_hat.is_inference() and not y_hat.requires_grad
    assert torch.allclose(y_hat, model.weights.detach() * line[0] + model.bias.detach())


def test_predict_switches_dropout_off_and_puts_back_the_mode_it_found(line, seeded):
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1)).train()
    first, second = helpers.predict(model, line[0]), helpers.predict(model, line[0])
    assert torch.equal(first, second) and model.training and all(m.training for m in model.modules())
    model[1].eval()  # a layer kept in eval mode inside a model that trains (as when batch norm is frozen)
    helpers.predict(model, line[0])
    assert model.training and not model[1].training
    model.eval()
    helpers.predict(model, line[0])
    assert not model.training


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


def test_predict_names_a_dtype_that_does_not_match_the_model(line, seeded):
    model = helpers.LinearRegressionModelV2()
    with pytest.raises(TypeError, match=r"X holds floating-point numbers of dtype torch.float64.*X = X.float\(\)"):
        helpers.predict(model, line[0].double())
    with pytest.raises(TypeError, match="X holds integer numbers"):
        helpers.predict(model, line[0].long())
    embed = torch.nn.Embedding(5, 1)  # integer ids are the right input for an embedding
    assert helpers.predict(embed, torch.tensor([0, 4])).shape == (2, 1)


def test_metrics_refuse_empty_tensors_instead_of_returning_nan():
    with pytest.raises(ValueError, match="y_pred is empty"):
        helpers.mae(torch.zeros(0, 1), torch.zeros(0, 1))
    with pytest.raises(ValueError, match="y_pred is empty"):
        helpers.mse(torch.zeros(0), torch.zeros(0))


def test_least_squares_refuses_nan_and_a_single_x_value():
    X, y = helpers.make_line_data()
    X_nan = X.clone()
    X_nan[5] = float("nan")
    with pytest.raises(ValueError, match=r"X holds 1 NaN or infinite value\(s\) \(first rows: \[5\]\)"):
        helpers.least_squares_fit(X_nan, y)
    with pytest.raises(ValueError, match="every X is 0.5: .*no single best line"):
        helpers.least_squares_fit(torch.full((4, 1), 0.5), torch.rand(4, 1))
