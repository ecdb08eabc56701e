"""Stage 4 of the workflow: the two linear-regression models the course builds."""

import torch
from torch import nn

__all__ = ["LinearRegressionModel", "LinearRegressionModelV2"]


class LinearRegressionModel(nn.Module):
    """y = weights * x + bias, with both parameters written out as nn.Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, dtype=torch.float32), requires_grad=True)
        self.bias = nn.Parameter(torch.randn(1, dtype=torch.float32), requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the prediction weights * x + bias."""
        return self.weights * x + self.bias


class LinearRegressionModelV2(nn.Module):
    """The same straight line, built from one nn.Linear(1, 1) layer."""

    def __init__(self) -> None:
        super().__init__()
        self.linear_layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the prediction of the linear layer."""
        return self.linear_layer(x)
