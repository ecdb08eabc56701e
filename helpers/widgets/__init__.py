"""Widget explorers: sliders that redraw a picture of the data, the split, the loss and training.

Each explorer is a function that returns an `Explorer` (an ipywidgets VBox): call it as a cell's
last line to show it. The numbers come from helpers.explore; this module only lays out controls
and draws. Only APIs common to ipywidgets 7.7 (Colab) and 8 are used. Pictures are PNGs in an
`Image` widget, so a redraw swaps one image without flicker, in JupyterLab and in Colab alike.
One module per explorer; `_base` holds what they share.
"""

from ._base import Explorer
from .digits import digit_explorer
from .line import line_explorer
from .minibatch import minibatch_explorer
from .optimizer import optimizer_explorer
from .split import split_explorer
from .training import training_explorer

__all__ = ["Explorer", "line_explorer", "split_explorer", "optimizer_explorer", "training_explorer", "digit_explorer",
           "minibatch_explorer"]
