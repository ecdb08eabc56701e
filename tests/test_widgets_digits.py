"""The digit explorer: builds with no arguments, shows the right probabilities, every control works.
Runs under ipywidgets 8 (the course pin) and 7.7.1 (Colab's), like tests/test_widgets.py."""

import io

import ipywidgets
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers import vision as V
from helpers import widgets as W
from helpers.widgets._base import _png
from helpers.widgets.digits import quick_digit_model

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def default():
    return W.digit_explorer()


def test_listed_and_builds_with_no_arguments(default):
    assert "digit_explorer" in W.__all__
    assert isinstance(default, ipywidgets.VBox) and bytes(default.image.value).startswith(PNG)
    assert default.result is not None and default.image.layout.display != "none"
    assert isinstance(default.controls["index"], ipywidgets.IntSlider)
    assert default.controls["index"].max == len(V.load_digits("test")[1]) - 1


def test_the_quick_default_model_is_seeded_and_good_enough():
    X, y = V.load_digits("test")
    a, b = quick_digit_model(), quick_digit_model()
    assert torch.equal(a(X), b(X))
    assert (a(X).argmax(1) == y).float().mean() > 0.9


def test_slider_ends_and_the_button_never_raise(default):
    slider = default.controls["index"]
    for value in (slider.min, slider.max, slider.min):
        slider.value = value
        assert default.image.layout.display != "none" and default.result["index"] == value
    default.controls["next"].click()


def test_shows_the_models_probabilities_for_the_chosen_image():
    X, y = V.load_digits("test")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    explorer = W.digit_explorer(model=model, dataset=(X, y), index=5)
    with torch.inference_mode():
        expected = model(X[5:6]).softmax(dim=1)[0]
    r = explorer.result
    assert torch.allclose(r["probs"], expected, atol=1e-6) and r["probs"].sum() == pytest.approx(1, abs=1e-5)
    assert r["pred"] == int(expected.argmax()) and r["label"] == int(y[5])
    assert f"{expected.max().item():.1%}" in explorer.message.value


def test_next_mistake_jumps_to_a_wrong_prediction_and_changes_the_picture(default):
    default.controls["index"].value = 0
    picture = bytes(default.image.value)
    default.controls["next"].click()
    r = default.result
    assert r["pred"] != r["label"] and r["index"] == default.mistakes[0]
    assert bytes(default.image.value) != picture and "wrong" in default.message.value


def test_accepts_an_image_folder_and_names_its_classes(tmp_path):
    for label, value in (("cat", 0), ("dog", 255)):
        for i in range(2):
            (tmp_path / label).mkdir(exist_ok=True)
            Image.new("L", (4, 4), value).save(tmp_path / label / f"{i}.png")
    folder = V.ImageFolder(tmp_path, transform=V.Compose([V.Grayscale(), V.ToTensor()]))
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    explorer = W.digit_explorer(model=model, dataset=folder)
    assert "true class cat" in explorer.message.value


def test_bad_input_is_refused_in_plain_words():
    X, y = V.load_digits("test")
    with pytest.raises(TypeError, match="dataset must be"):
        W.digit_explorer(model=quick_digit_model(), dataset="test")
    with pytest.raises(ValueError, match=r"X \[N, 1, H, W\]"):
        W.digit_explorer(model=quick_digit_model(), dataset=(X.flatten(1), y))
    with pytest.raises(ValueError, match="labels in dataset must be 0 to 4"):
        W.digit_explorer(model=nn.Sequential(nn.Flatten(), nn.Linear(64, 5)), dataset=(X, y))
    with pytest.raises(TypeError, match="model must be"):
        W.digit_explorer(model="cnn", dataset=(X, y))


def test_fast_redraw_is_pixel_identical_to_a_full_render(default):
    default.controls["index"].value = 17
    fast = np.asarray(Image.open(io.BytesIO(bytes(default.image.value))).convert("RGBA"))
    full = np.asarray(Image.open(io.BytesIO(_png(default.figure))).convert("RGBA"))
    assert fast.shape == full.shape and (fast == full).all()


def test_redraw_is_fast(default):
    import time

    slider = default.controls["index"]
    start = time.perf_counter()
    for i in range(10):
        slider.value = 30 + i
    assert (time.perf_counter() - start) / 10 < 0.3


def test_the_titles_name_the_image_its_true_class_and_the_verdict(default):
    default.controls["index"].value = 3
    r = default.result
    left, right = default.figure.axes
    assert left.get_title() == f"image 3: true class {r['label']}"  # "true class 8", never "a 8"
    assert right.get_title().startswith(f"predicted {r['pred']} (") and right.get_title().endswith(
        "right" if r["pred"] == r["label"] else "wrong")
