"""Data on disk and in batches: the dataset file, safe loading, the loaders and the weighted mean loss."""

import math
import pickle
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import helpers
from helpers.datasets import (
    DATASET_KEYS,
    evaluate_loss,
    load_tensor_dataset,
    make_loaders,
    make_noisy_line_dataset,
    save_tensor_dataset,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def dataset():
    return make_noisy_line_dataset()


def _equal(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


# --- the noisy line -------------------------------------------------------------------------------


def test_noisy_line_has_the_four_keys_shapes_and_dtype(dataset):
    assert tuple(dataset) == DATASET_KEYS
    assert [list(v.shape) for v in dataset.values()] == [[400, 1], [400, 1], [100, 1], [100, 1]]
    assert all(v.dtype == torch.float32 for v in dataset.values())
    X = torch.cat([dataset["training_data"], dataset["testing_data"]])
    assert 0 <= X.min() and X.max() < 1 and len(X.unique()) == 500


def test_noisy_line_scatters_around_the_line_with_the_asked_noise(dataset):
    X, y = dataset["training_data"], dataset["training_labels"]
    residuals = y - (0.7 * X + 0.3)
    assert 0.08 < residuals.std().item() < 0.12 and abs(residuals.mean().item()) < 0.02
    weight, bias = helpers.least_squares_fit(X, y)
    assert weight == pytest.approx(0.7, abs=0.05) and bias == pytest.approx(0.3, abs=0.03)
    clean = make_noisy_line_dataset(noise_std=0.0)
    assert torch.allclose(clean["testing_labels"], 0.7 * clean["testing_data"] + 0.3, atol=1e-6)


def test_noisy_line_is_seeded(dataset):
    assert _equal(make_noisy_line_dataset(), dataset)
    assert not torch.equal(make_noisy_line_dataset(seed=1)["training_data"], dataset["training_data"])


def test_noisy_line_sizes_follow_the_arguments():
    d = make_noisy_line_dataset(n_points=50, train_fraction=0.6)
    assert len(d["training_data"]) == 30 and len(d["testing_labels"]) == 20


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"n_points": 1}, ValueError, "n_points"), ({"n_points": 10.0}, TypeError, "n_points"),
     ({"train_fraction": 1.0}, ValueError, "train_fraction"), ({"noise_std": -0.1}, ValueError, "noise_std"),
     ({"seed": -1}, ValueError, "seed"), ({"weight": "0.7"}, TypeError, "weight"),
     ({"n_points": 3, "train_fraction": 0.2}, ValueError, "empty")],
)
def test_noisy_line_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_noisy_line_dataset(**kwargs)


# --- the committed file ---------------------------------------------------------------------------


def test_committed_file_equals_what_the_helper_makes(dataset):
    assert _equal(load_tensor_dataset(DATA / "noisy_line.pt"), dataset)


def test_committed_file_reads_with_plain_torch_load(dataset):
    raw = torch.load(DATA / "noisy_line.pt", weights_only=True)
    assert sorted(raw) == sorted(DATASET_KEYS) and all(torch.equal(raw[k], dataset[k]) for k in DATASET_KEYS)


# --- save and load --------------------------------------------------------------------------------


def test_round_trip_gives_equal_tensors(tmp_path, dataset):
    path = save_tensor_dataset(tmp_path / "deep" / "folder" / "d.pt", dataset)
    assert path == tmp_path / "deep" / "folder" / "d.pt" and path.is_file()
    assert _equal(load_tensor_dataset(path), dataset)
    assert _equal(load_tensor_dataset(str(path)), dataset)


def test_round_trip_keeps_other_shapes_and_dtypes(tmp_path):
    digits = {"training_data": torch.rand(6, 1, 8, 8), "training_labels": torch.arange(6),
              "testing_data": torch.rand(2, 1, 8, 8), "testing_labels": torch.tensor([3, 4])}
    loaded = load_tensor_dataset(save_tensor_dataset(tmp_path / "digits.pt", digits))
    assert _equal(loaded, digits) and loaded["training_labels"].dtype == torch.int64


def test_a_slice_is_saved_without_the_tensor_it_came_from(tmp_path, dataset):
    big = torch.zeros(100_000, 1)
    small = dict(dataset, training_data=big[:400], training_labels=big[400:800])
    path = save_tensor_dataset(tmp_path / "d.pt", small)
    assert path.stat().st_size < 20_000 and torch.equal(load_tensor_dataset(path)["training_data"], big[:400])


def test_save_is_atomic_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch, dataset):
    path = save_tensor_dataset(tmp_path / "d.pt", dataset)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_tensor_dataset(path, make_noisy_line_dataset(seed=1))
    monkeypatch.undo()
    assert _equal(load_tensor_dataset(path), dataset)
    assert [p.name for p in tmp_path.iterdir()] == ["d.pt"]


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        load_tensor_dataset(tmp_path / "nowhere.pt")


def test_a_damaged_file_is_a_value_error(tmp_path):
    path = tmp_path / "half.pt"
    save_tensor_dataset(path, make_noisy_line_dataset())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="half.pt"):
        load_tensor_dataset(path)


class _Marker:
    """Unpickling this object would create a file: proof that loading ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.parametrize("writer", ["pickle.dump", "pickle.dump protocol 2", "torch.save"])
def test_a_pickle_that_would_run_code_is_refused_and_not_run(tmp_path, writer):
    marker, path = tmp_path / "ran.txt", tmp_path / "evil.pkl"
    booby_trapped = dict(make_noisy_line_dataset(), training_labels=_Marker(marker))
    if writer == "torch.save":
        torch.save(booby_trapped, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(booby_trapped, f, **({"protocol": 2} if "2" in writer else {}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning leaks out of the refusal either
        with pytest.raises(ValueError, match=r"refused to load .*evil.pkl.*save_tensor_dataset"):
            load_tensor_dataset(path)
    assert not marker.exists()
    if writer != "torch.save":  # the control experiment: pickle.load does run it
        with open(path, "rb") as f:
            pickle.load(f)
        assert marker.exists()


@pytest.mark.parametrize(
    "change, match",
    [(lambda d: d.pop("testing_labels"), r"missing \['testing_labels'\]"),
     (lambda d: d.update(extra=torch.zeros(1)), r"unexpected \['extra'\]"),
     (lambda d: d.update(training_labels=d["training_labels"][:-1]), "training_data has 400 rows but training_labels has 399"),
     (lambda d: d.update(testing_data=d["testing_data"].reshape(-1)), "testing_data must have shape"),
     (lambda d: d.update(testing_data=torch.zeros(100, 2)), "training_data and testing_data .* same shape"),
     (lambda d: d.update(training_labels=torch.zeros(400, 3)), "training_labels and testing_labels"),
     (lambda d: d.update(testing_data=torch.zeros(0, 1), testing_labels=torch.zeros(0, 1)), "N > 0")],
)
def test_wrong_keys_or_shapes_are_named_on_save_and_on_load(tmp_path, dataset, change, match):
    change(dataset)
    with pytest.raises(ValueError, match=match):
        save_tensor_dataset(tmp_path / "d.pt", dataset)
    torch.save(dataset, tmp_path / "raw.pt")  # written without the checks, as someone else might
    with pytest.raises(ValueError, match=f"raw.pt.*{match}"):
        load_tensor_dataset(tmp_path / "raw.pt")
    assert not (tmp_path / "d.pt").exists()


def test_non_tensors_are_type_errors_on_save_and_value_errors_on_load(tmp_path, dataset):
    dataset["testing_labels"] = dataset["testing_labels"].tolist()
    with pytest.raises(TypeError, match="testing_labels"):
        save_tensor_dataset(tmp_path / "d.pt", dataset)
    torch.save(dataset, tmp_path / "raw.pt")
    with pytest.raises(ValueError, match="testing_labels"):
        load_tensor_dataset(tmp_path / "raw.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="must be a dict"):
        load_tensor_dataset(tmp_path / "list.pt")


def test_save_refuses_what_is_not_a_dict_or_a_path(tmp_path, dataset):
    with pytest.raises(TypeError, match="dataset must be a dict"):
        save_tensor_dataset(tmp_path / "d.pt", list(dataset.values()))
    with pytest.raises(TypeError, match="path"):
        save_tensor_dataset(42, dataset)
    with pytest.raises(TypeError, match="path"):
        load_tensor_dataset(None)


# --- loaders --------------------------------------------------------------------------------------


@pytest.fixture
def datasets(dataset):
    d = dataset
    return TensorDataset(d["training_data"], d["training_labels"]), TensorDataset(d["testing_data"], d["testing_labels"])


def _order(loader: DataLoader) -> torch.Tensor:
    return torch.cat([X for X, _ in loader]).reshape(-1)


def test_batch_counts_and_shapes(datasets):
    train, test = make_loaders(*datasets, batch_size=32)
    assert len(train) == math.ceil(400 / 32) == 13 and len(test) == math.ceil(100 / 32) == 4
    sizes = [len(X) for X, _ in test]
    assert sizes == [32, 32, 32, 4]
    X, y = next(iter(train))
    assert X.shape == (32, 1) and y.shape == (32, 1) and X.dtype == torch.float32


def test_drop_last_drops_only_the_training_remainder(datasets):
    train, test = make_loaders(*datasets, batch_size=64, drop_last=True)
    assert len(train) == 400 // 64 == 6 and sum(len(X) for X, _ in train) == 384
    assert len(test) == 2 and sum(len(X) for X, _ in test) == 100  # evaluation sees every sample


def test_shuffling_is_reproducible_with_a_seed_and_differs_with_another(datasets):
    first = _order(make_loaders(*datasets, seed=0)[0])
    assert torch.equal(first, _order(make_loaders(*datasets, seed=0)[0]))
    assert not torch.equal(first, _order(make_loaders(*datasets, seed=1)[0]))
    assert torch.equal(first.sort().values, datasets[0].tensors[0].reshape(-1).sort().values)  # every sample once
    train = make_loaders(*datasets, seed=0)[0]
    assert not torch.equal(_order(train), _order(train))  # a new order every epoch


def test_evaluation_loaders_keep_the_order(datasets):
    train, test = make_loaders(*datasets, batch_size=16)
    assert torch.equal(_order(test), datasets[1].tensors[0].reshape(-1))
    assert torch.equal(_order(test), _order(test))
    assert not torch.equal(_order(train), datasets[0].tensors[0].reshape(-1))


def test_several_evaluation_datasets_and_none(datasets):
    train, val, test = make_loaders(datasets[0], datasets[1], datasets[1], batch_size=50)
    assert (len(train), len(val), len(test)) == (8, 2, 2)
    (only,) = make_loaders(datasets[0])
    assert len(only) == 13


def test_iterating_the_loaders_leaves_the_global_rng_alone(datasets):
    loaders = make_loaders(*datasets)
    before = torch.get_rng_state()
    for loader in loaders:
        _order(loader)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [(((torch.zeros(3, 1), torch.zeros(3, 1)),), {}, TypeError, "train_dataset must be a map-style"),
     (("ds", [1, 2]), {}, TypeError, r"eval_datasets\[0\]"),
     (("ds",), {"batch_size": 0}, ValueError, "batch_size"),
     (("ds",), {"batch_size": 2.0}, TypeError, "batch_size"),
     (("ds",), {"seed": -3}, ValueError, "seed"),
     (("ds",), {"drop_last": "yes"}, TypeError, "drop_last"),
     (("ds",), {"batch_size": 500, "drop_last": True}, ValueError, "no batch"),
     (("empty",), {}, ValueError, "empty")],
)
def test_make_loaders_refuses_bad_arguments(datasets, args, kwargs, error, match):
    named = {"ds": datasets[0], "empty": TensorDataset(torch.zeros(0, 1))}
    args = tuple(named.get(a, a) if isinstance(a, str) else a for a in args)
    with pytest.raises(error, match=match):
        make_loaders(*args, **kwargs)


def test_make_loaders_refuses_an_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter([])

    with pytest.raises(TypeError, match="map-style"):
        make_loaders(Stream())


# --- the mean loss over a loader ------------------------------------------------------------------


def test_evaluate_loss_weights_batches_by_size_and_equals_the_full_batch_loss(datasets):
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    _, test = make_loaders(*datasets, batch_size=32)
    X, y = datasets[1].tensors
    weighted = evaluate_loss(model, test, nn.MSELoss())
    with torch.no_grad():
        full = nn.MSELoss()(model(X), y).item()
        batch_means = [nn.MSELoss()(model(Xb), yb).item() for Xb, yb in test]
    by_hand = (32 * sum(batch_means[:3]) + 4 * batch_means[3]) / 100
    assert weighted == pytest.approx(by_hand, rel=1e-6) and weighted == pytest.approx(full, rel=1e-5)
    assert abs(sum(batch_means) / 4 - full) > 1e-4  # the unweighted mean of batch means is wrong here


def test_evaluate_loss_uses_eval_mode_and_no_graph(datasets):
    model = nn.Sequential(nn.Linear(1, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    _, test = make_loaders(*datasets, batch_size=25)
    assert evaluate_loss(model, test, nn.L1Loss()) == evaluate_loss(model, test, nn.L1Loss())  # no dropout
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_evaluate_loss_agrees_with_fit_over_the_same_loaders(datasets):
    torch.manual_seed(42)
    model = helpers.LinearRegressionModelV2()
    train, test = make_loaders(*datasets, batch_size=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = helpers.fit(model, train, test, nn.MSELoss(), optimizer, epochs=3)
    assert evaluate_loss(model, test, nn.MSELoss(), device="cpu") == pytest.approx(history.val_loss[-1], rel=1e-6)


def test_evaluate_loss_refuses_bad_arguments(datasets):
    model = helpers.LinearRegressionModel()
    _, test = make_loaders(*datasets)
    with pytest.raises(TypeError, match="loader must be a torch.utils.data.DataLoader"):
        evaluate_loss(model, datasets[1], nn.MSELoss())
    with pytest.raises(TypeError, match="model"):
        evaluate_loss("model", test, nn.MSELoss())
    with pytest.raises(TypeError, match="loss_fn"):
        evaluate_loss(model, test, "mse")


# --- bad input ---------------------------------------------------------------------------------------


def test_a_png_is_not_a_torch_file_and_the_message_never_advises_weights_only_false(tmp_path):
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "digit.png")
    with pytest.raises(ValueError, match="could not read .*digit.png: it is a PNG image, not a file written by torch.save") as err:
        load_tensor_dataset(tmp_path / "digit.png")
    assert "weights_only=False" not in str(err.value) and "Python objects" not in str(err.value)
    (tmp_path / "noise.pt").write_bytes(bytes(range(1, 256)) * 4)  # binary, not a known kind: torch itself fails
    with pytest.raises(ValueError, match="noise.pt: the file is truncated, corrupted or not a torch file") as err:
        load_tensor_dataset(tmp_path / "noise.pt")
    assert "weights_only" not in str(err.value)


def test_saving_a_dataset_onto_a_folder_writes_nothing(tmp_path, dataset):
    (tmp_path / "data").mkdir()
    with pytest.raises(ValueError, match="is a folder: give a file name in it"):
        save_tensor_dataset(tmp_path / "data", dataset)
    assert list((tmp_path / "data").iterdir()) == []


def test_make_loaders_refuses_a_dataset_without_labels():
    with pytest.raises(ValueError, match=r"train_dataset holds 1 tensor\(s\) per sample.*TensorDataset\(X, y\)"):
        make_loaders(TensorDataset(torch.zeros(8, 1)))


def test_evaluate_loss_names_loaders_that_yield_nothing_or_no_labels_and_wrong_shapes(datasets):
    model = helpers.LinearRegressionModelV2()
    X, y = datasets[1].tensors
    cases = [
        (DataLoader(TensorDataset(X), batch_size=8), ValueError, r"loader yields batches of 1 item\(s\)"),
        (DataLoader(datasets[1], batch_size=200, drop_last=True), ValueError, "loader yields no batches: drop_last=True"),
        (DataLoader(TensorDataset(X, y.squeeze(1)), batch_size=8), ValueError, r"targets \(y in loader's batches\) have shape \[8\]"),
        (DataLoader(TensorDataset(X.double(), y), batch_size=8), TypeError, "X in loader's batches holds floating-point numbers of dtype torch.float64"),
    ]
    for loader, error, match in cases:
        with pytest.raises(error, match=match):
            evaluate_loss(model, loader, nn.MSELoss())
    _, test = make_loaders(*datasets)
    with pytest.raises(ValueError, match="device='gpu' is not a device name"):
        evaluate_loss(model, test, nn.MSELoss(), device="gpu")
    with pytest.raises(TypeError, match="loss_fn must be a loss function, got the class MSELoss"):
        evaluate_loss(model, test, nn.MSELoss)
