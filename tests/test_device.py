"""get_device and set_seed."""

import random

import numpy as np
import pytest
import torch

import helpers


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert helpers.get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert helpers.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert helpers.get_device() == torch.device("cpu")


def test_get_device_finds_a_real_device():
    device = helpers.get_device()
    assert torch.zeros(1, device=device).device.type == device.type


def test_set_seed_repeats_torch_random_and_numpy():
    def draw():
        return torch.rand(3).tolist(), random.random(), np.random.rand()

    helpers.set_seed(123)
    first = draw()
    helpers.set_seed(123)
    assert draw() == first
    helpers.set_seed(124)
    assert draw() != first


def test_set_seed_42_gives_the_reference_model():
    helpers.set_seed(42)
    assert round(helpers.LinearRegressionModel().weights.item(), 4) == 0.3367


def test_set_seed_refuses_seeds_torch_cannot_take():
    with pytest.raises(ValueError, match=r"seed must be less than 2\*\*64"):
        helpers.set_seed(2**64)
    with pytest.raises(TypeError, match="seed must be an int"):
        helpers.set_seed(True)
    helpers.set_seed(2**64 - 1)  # the largest one works
