"""Helpers for the PyTorch workflow course: one module per stage, re-exported here.

`import helpers` loads torch and these small modules only; matplotlib, tqdm and ipywidgets are
imported inside the functions that draw, show progress or build widgets (see helpers.widgets).
"""

from . import debug
from .data import load_line_csv, make_line_data, save_line_csv, train_test_split, train_val_test_split
from .device import get_device, set_seed
from .evaluation import least_squares_fit, mae, mse, predict
from .models import LinearRegressionModel, LinearRegressionModelV2
from .plotting import plot_loss_curves, plot_predictions
from .saving import load_checkpoint, load_model, save_checkpoint, save_model
from .training import History, fit, test_step, train_step

__version__ = "0.1.0"

__all__ = [
    "debug",
    "make_line_data",
    "train_test_split",
    "train_val_test_split",
    "save_line_csv",
    "load_line_csv",
    "plot_predictions",
    "plot_loss_curves",
    "LinearRegressionModel",
    "LinearRegressionModelV2",
    "History",
    "train_step",
    "test_step",
    "fit",
    "predict",
    "mae",
    "mse",
    "least_squares_fit",
    "save_model",
    "load_model",
    "save_checkpoint",
    "load_checkpoint",
    "get_device",
    "set_seed",
]
