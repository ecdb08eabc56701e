"""make_line_data and the splits: shapes, the course's numbers, reproducible noise and shuffles."""

import pytest
import torch

import helpers


def test_defaults_are_the_course_line():
    X, y = helpers.make_line_data()
    assert X.shape == (50, 1) and y.shape == (50, 1)
    assert X.dtype == y.dtype == torch.float32
    assert torch.equal(X, torch.arange(0, 1, 0.02).unsqueeze(dim=1))
    assert torch.equal(y, 0.7 * X + 0.3)


def test_custom_line_follows_its_arguments():
    X, y = helpers.make_line_data(weight=-2.0, bias=1.5, start=-1.0, end=1.0, step=0.5)
    assert X.squeeze().tolist() == [-1.0, -0.5, 0.0, 0.5]
    assert torch.allclose(y, -2.0 * X + 1.5)


def test_noise_is_reproducible_with_a_seed_and_has_the_asked_spread():
    X, y1 = helpers.make_line_data(step=0.0005, noise_std=0.1, seed=3)
    _, y2 = helpers.make_line_data(step=0.0005, noise_std=0.1, seed=3)
    _, y3 = helpers.make_line_data(step=0.0005, noise_std=0.1, seed=4)
    assert torch.equal(y1, y2) and not torch.equal(y1, y3)
    residual = y1 - (0.7 * X + 0.3)
    assert abs(residual.std().item() - 0.1) < 0.01  # 2000 points: the spread is close to noise_std
    assert abs(residual.mean().item()) < 0.01


def test_seeded_noise_does_not_touch_the_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    helpers.make_line_data(noise_std=0.1, seed=1)
    assert torch.equal(torch.rand(1), expected)


def test_ordered_split_is_the_first_80_percent():
    X, y = helpers.make_line_data()
    X_train, y_train, X_test, y_test = helpers.train_test_split(X, y)
    assert (len(X_train), len(X_test)) == (40, 10)
    assert torch.equal(X_train, X[:40]) and torch.equal(y_test, y[40:])


def test_shuffled_split_keeps_pairs_and_covers_every_row_once():
    X, y = helpers.make_line_data()
    X_train, y_train, X_test, y_test = helpers.train_test_split(X, y, shuffle=True, seed=0)
    assert torch.equal(y_train, 0.7 * X_train + 0.3) and torch.equal(y_test, 0.7 * X_test + 0.3)
    both = torch.cat([X_train, X_test]).squeeze()
    assert torch.equal(both.sort().values, X.squeeze())
    assert not torch.equal(X_train, X[:40])  # really shuffled
    again = helpers.train_test_split(X, y, shuffle=True, seed=0)
    assert torch.equal(again[0], X_train)


def test_split_of_other_fractions_uses_int_of_fraction_times_n():
    X, y = helpers.make_line_data()
    parts = helpers.train_test_split(X, y, train_fraction=0.55)
    assert (len(parts[0]), len(parts[2])) == (27, 23)


def test_three_way_split_sizes_order_and_pairs():
    X, y = helpers.make_line_data()
    X_tr, y_tr, X_va, y_va, X_te, y_te = helpers.train_val_test_split(X, y)
    assert (len(X_tr), len(X_va), len(X_te)) == (30, 10, 10)
    assert torch.equal(torch.cat([X_tr, X_va, X_te]), X)
    shuffled = helpers.train_val_test_split(X, y, 0.5, 0.25, shuffle=True, seed=1)
    assert [len(t) for t in shuffled] == [25, 25, 12, 12, 13, 13]
    for Xs, ys in zip(shuffled[::2], shuffled[1::2]):
        assert torch.equal(ys, 0.7 * Xs + 0.3)
    assert torch.equal(torch.cat(shuffled[::2]).squeeze().sort().values, X.squeeze())


def test_csv_round_trip_is_exact_and_readable(tmp_path):
    X, y = helpers.make_line_data(noise_std=0.05, seed=7)
    path = helpers.save_line_csv(tmp_path / "sub" / "noisy.csv", X, y)
    X2, y2 = helpers.load_line_csv(path)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    lines = path.read_text().splitlines()
    assert lines[0] == "x,y" and lines[2].startswith("0.02,")
    assert max(len(line) for line in lines) <= 24  # shortest float32 text, not 17-digit doubles


def test_csv_paths_that_are_folders_or_not_paths_are_named(tmp_path):
    X, y = helpers.make_line_data()
    with pytest.raises(ValueError, match="is a folder: give a file name in it"):
        helpers.save_line_csv(tmp_path, X, y)
    with pytest.raises(ValueError, match="is a folder, not a data file"):
        helpers.load_line_csv(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or pathlib.Path"):
        helpers.load_line_csv(3)
    (tmp_path / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="image.csv is not a text file"):
        helpers.load_line_csv(tmp_path / "image.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.csv"]
