"""The committed digits tree (data/digits, made by tools/make_digits.py) is whole, split cleanly, and readable."""

from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from helpers import vision as V

DIGITS = Path(__file__).resolve().parents[1] / "data" / "digits"
LEVELS = {round(v * 255 / 16) for v in range(17)}
CLASSES = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def files():
    """{split: [(path, label, pixel bytes)]} for every PNG of the tree."""
    out = {}
    for split in ("train", "test"):
        out[split] = []
        for path in sorted((DIGITS / split).rglob("*")):
            if path.is_file():
                with Image.open(path) as image:
                    assert image.format == "PNG" and image.mode == "L" and image.size == (8, 8), path
                    out[split].append((path, path.parent.name, image.tobytes()))
    return out


def test_both_splits_have_the_ten_digit_folders_and_at_least_1700_images(files):
    for split in ("train", "test"):
        assert sorted(p.name for p in (DIGITS / split).iterdir()) == CLASSES
    assert len(files["train"]) + len(files["test"]) >= 1700


def test_the_split_is_80_20_and_stratified(files):
    n_train, n_test = len(files["train"]), len(files["test"])
    assert n_test / (n_train + n_test) == pytest.approx(0.2, abs=0.005)
    train, test = Counter(lab for _, lab, _ in files["train"]), Counter(lab for _, lab, _ in files["test"])
    for digit in CLASSES:
        assert train[digit] > 0 and test[digit] > 0, f"digit {digit} missing from a split"
        assert test[digit] / (train[digit] + test[digit]) == pytest.approx(0.2, abs=0.02)


def test_no_image_is_in_both_train_and_test(files):
    train = {pixels for _, _, pixels in files["train"]}
    leaked = [path.name for path, _, pixels in files["test"] if pixels in train]
    assert not leaked, f"test images also in train: {leaked[:5]}"


def test_names_are_unique_indices_and_pixels_the_17_grey_levels(files):
    stems = [path.stem for split in files.values() for path, _, _ in split]
    assert len(set(stems)) == len(stems) and all(s.isdigit() and len(s) == 4 for s in stems)
    assert set().union(*(set(pixels) for split in files.values() for _, _, pixels in split)) <= LEVELS


def test_image_folder_reads_the_tree_as_the_course_does():
    data = V.ImageFolder(DIGITS / "test", transform=V.Compose([V.Grayscale(), V.ToTensor()]))
    assert data.classes == CLASSES and data.class_to_idx["7"] == 7
    X, y = V.load_digits("test")
    assert X.shape == (len(data), 1, 8, 8) and X.dtype == torch.float32
    assert torch.equal(y, torch.tensor(data.targets)) and torch.equal(X[0], data[0][0])
    assert X.min() == 0 and X.max() == 1


def test_readme_gives_provenance_licence_and_how_to_regenerate():
    readme = " ".join((DIGITS.parent / "README.md").read_text().split())
    for words in ("Optical Recognition of Handwritten Digits", "CC BY 4.0", "tools/make_digits.py", "load_digits"):
        assert words in readme


def test_the_svc_yardstick_is_a_measured_figure_on_this_very_split(files):
    """data/digits/svc_yardstick.json: made by tools/make_digits.py on the committed test images (notebook 09 quotes it)."""
    import json

    record = json.loads((DIGITS / "svc_yardstick.json").read_text())
    assert record["made_by"] == "tools/make_digits.py" and "SVC(gamma=0.001)" in record["model"]
    assert record["total"] == len(files["test"]) and f"all {len(files['train'])} training images" in record["trained_on"]
    assert 0 < record["correct"] <= record["total"]
    assert record["accuracy"] == pytest.approx(record["correct"] / record["total"], abs=1e-6)


def test_the_svc_yardstick_is_what_scikit_learn_computes_when_it_is_installed(files):
    """Only where scikit-learn is installed (the course never needs it): train and score the SVC again."""
    import json

    pytest.importorskip("sklearn")
    import numpy as np
    from sklearn.svm import SVC

    def levels(split):
        return (np.array([list(px) for _, _, px in files[split]], dtype=float) * 16 / 255).round(), \
            np.array([int(label) for _, label, _ in files[split]])

    (X_train, y_train), (X_test, y_test) = levels("train"), levels("test")
    correct = int((SVC(gamma=0.001).fit(X_train, y_train).predict(X_test) == y_test).sum())
    assert correct == json.loads((DIGITS / "svc_yardstick.json").read_text())["correct"]
