"""The two models: parameters, forward, and the course's seed-42 starting values."""

import torch
from torch import nn

import helpers


def test_parameter_model_starts_at_the_reference_values(seeded):
    model = helpers.LinearRegressionModel()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["weights", "bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert round(model.weights.item(), 4) == 0.3367 and round(model.bias.item(), 4) == 0.1288


def test_parameter_model_forward_is_weights_times_x_plus_bias(seeded):
    model = helpers.LinearRegressionModel()
    X = torch.tensor([[0.0], [1.0], [2.0]])
    expected = model.weights.detach() * X + model.bias.detach()
    assert torch.equal(model(X), expected)
    assert model(X).shape == (3, 1)


def test_linear_model_starts_at_the_reference_values(seeded):
    model = helpers.LinearRegressionModelV2()
    assert isinstance(model.linear_layer, nn.Linear)
    state = model.state_dict()
    assert list(state) == ["linear_layer.weight", "linear_layer.bias"]
    assert round(state["linear_layer.weight"].item(), 4) == 0.7645
    assert round(state["linear_layer.bias"].item(), 4) == 0.8300


def test_both_models_predict_the_line_when_given_its_parameters(line):
    X, y = line
    v1, v2 = helpers.LinearRegressionModel(), helpers.LinearRegressionModelV2()
    with torch.no_grad():
        v1.weights.fill_(0.7), v1.bias.fill_(0.3)
        v2.linear_layer.weight.fill_(0.7), v2.linear_layer.bias.fill_(0.3)
    assert torch.allclose(v1(X), y) and torch.allclose(v2(X), y)
