"""The committed files in data/ equal what the helpers produce."""

from pathlib import Path

import torch

import helpers

DATA = Path(__file__).resolve().parents[1] / "data"


def test_straight_line_csv_equals_make_line_data():
    X, y = helpers.load_line_csv(DATA / "straight_line.csv")
    X0, y0 = helpers.make_line_data()
    assert torch.equal(X, X0) and torch.equal(y, y0)


def test_every_data_file_is_described_in_the_readme():
    readme = (DATA / "README.md").read_text()
    for f in DATA.iterdir():
        if f.name != "README.md":
            assert f"`{f.name}`" in readme, f"data/{f.name} is not described in data/README.md"
