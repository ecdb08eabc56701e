"""save/load of models and checkpoints: round trips, atomic writes, safe loading, clear errors."""

import os

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers


def test_model_round_trip_gives_equal_parameters_and_predictions(tmp_path, line, seeded):
    model = helpers.LinearRegressionModel()
    path = helpers.save_model(model, tmp_path / "deep" / "folder" / "model.pt")
    assert path.is_file()
    loaded = helpers.load_model(helpers.LinearRegressionModel(), path)
    assert torch.equal(loaded.weights, model.weights) and torch.equal(loaded.bias, model.bias)
    assert torch.equal(helpers.predict(loaded, line[0]), helpers.predict(model, line[0]))


def test_saved_files_get_the_usual_permissions(tmp_path):
    path = helpers.save_model(helpers.LinearRegressionModel(), tmp_path / "m.pt")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_model_is_atomic_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch, seeded):
    path = tmp_path / "model.pt"
    good = helpers.LinearRegressionModel()
    helpers.save_model(good, path)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        helpers.save_model(helpers.LinearRegressionModel(), path)
    monkeypatch.undo()
    loaded = helpers.load_model(helpers.LinearRegressionModel(), path)
    assert torch.equal(loaded.weights, good.weights)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no temp file left behind


class _Boom:
    """An object whose unpickling would run code: os.system is called on load."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_load_refuses_a_pickle_that_would_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.zeros(1), "bias": _Boom()}, path)
    with pytest.raises(ValueError, match="refused to load .*evil.pt") as err:
        helpers.load_model(helpers.LinearRegressionModel(), path)
    assert not (tmp_path / "pwned.txt").exists()
    assert "GLOBAL" in str(err.value) and "system" in str(err.value)  # says what it refused
    assert "\x1b[" not in str(err.value)  # no terminal colour codes


def test_load_refuses_a_whole_pickled_model(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(helpers.LinearRegressionModel(), path)
    with pytest.raises(ValueError, match="state_dict"):
        helpers.load_model(helpers.LinearRegressionModel(), path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        helpers.load_model(helpers.LinearRegressionModel(), tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        helpers.load_checkpoint(tmp_path / "nope.pt", helpers.LinearRegressionModel())


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_truncated_or_corrupted_file_names_the_file(tmp_path, cut):
    path = tmp_path / "model.pt"
    helpers.save_model(helpers.LinearRegressionModel(), path)
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data)) if isinstance(cut, float) else cut])
    with pytest.raises(ValueError, match="model.pt"):
        helpers.load_model(helpers.LinearRegressionModel(), path)


def test_garbage_file_names_the_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not a model")
    with pytest.raises(ValueError, match="notes.pt"):
        helpers.load_model(helpers.LinearRegressionModel(), path)


def test_mismatched_model_lists_missing_and_unexpected_keys_and_is_left_untouched(tmp_path, seeded):
    path = helpers.save_model(helpers.LinearRegressionModel(), tmp_path / "v1.pt")
    other = helpers.LinearRegressionModelV2()
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError) as err:
        helpers.load_model(other, path)
    message = str(err.value)
    assert "v1.pt" in message and "linear_layer.weight" in message and "'weights'" in message
    assert "missing" in message and "unexpected" in message
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())


def test_wrong_shapes_are_reported(tmp_path):
    path = helpers.save_model(nn.Linear(2, 1), tmp_path / "wide.pt")
    with pytest.raises(ValueError, match=r"shapes .*weight"):
        helpers.load_model(nn.Linear(1, 1), path)


def _train(model, optimizer, train, test, epochs):
    return helpers.fit(model, train, test, nn.MSELoss(), optimizer, epochs)


def test_resuming_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path, split):
    train, test = split[:2], split[2:]
    torch.manual_seed(0)
    straight = helpers.LinearRegressionModelV2()
    opt = torch.optim.Adam(straight.parameters(), lr=0.05)
    _train(straight, opt, train, test, 40)

    torch.manual_seed(0)
    first = helpers.LinearRegressionModelV2()
    opt1 = torch.optim.Adam(first.parameters(), lr=0.05)
    history = _train(first, opt1, train, test, 15)
    path = helpers.save_checkpoint(tmp_path / "ckpt.pt", first, opt1, epoch=15, history=history.val_loss)

    resumed = helpers.LinearRegressionModelV2()  # fresh weights and a fresh Adam: all from the file
    opt2 = torch.optim.Adam(resumed.parameters(), lr=0.05)
    checkpoint = helpers.load_checkpoint(path, resumed, opt2)
    assert checkpoint["epoch"] == 15 and checkpoint["history"] == history.val_loss
    _train(resumed, opt2, train, test, 40 - checkpoint["epoch"])
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_resuming_with_a_shuffled_dataloader_is_exact_too(tmp_path, split):
    def loaders():
        return DataLoader(TensorDataset(*split[:2]), batch_size=8, shuffle=True), split[2:]

    torch.manual_seed(1)
    straight = helpers.LinearRegressionModelV2()
    opt = torch.optim.SGD(straight.parameters(), lr=0.05, momentum=0.9)
    _train(straight, opt, *loaders(), 6)

    torch.manual_seed(1)
    first = helpers.LinearRegressionModelV2()
    opt1 = torch.optim.SGD(first.parameters(), lr=0.05, momentum=0.9)
    _train(first, opt1, *loaders(), 3)
    path = helpers.save_checkpoint(tmp_path / "ckpt.pt", first, opt1, epoch=3)
    torch.manual_seed(999)  # anything that happens in between must not change the shuffles
    resumed = helpers.LinearRegressionModelV2()
    opt2 = torch.optim.SGD(resumed.parameters(), lr=0.05, momentum=0.9)
    helpers.load_checkpoint(path, resumed, opt2, restore_rng=True)
    _train(resumed, opt2, *loaders(), 3)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_is_loadable_with_plain_torch_load_weights_only(tmp_path):
    model = helpers.LinearRegressionModel()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    path = helpers.save_checkpoint(tmp_path / "c.pt", model, opt, 3, note="hello", losses=[0.5, 0.25])
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 3 and raw["note"] == "hello" and raw["losses"] == [0.5, 0.25]
    assert set(raw["model_state_dict"]) == {"weights", "bias"}


def test_checkpoint_rejects_extras_that_would_not_load_safely(tmp_path):
    model = helpers.LinearRegressionModel()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(TypeError, match=r"extra config\['fn'\]"):
        helpers.save_checkpoint(tmp_path / "c.pt", model, opt, 1, config={"fn": print})
    with pytest.raises(ValueError, match="reserved"):
        helpers.save_checkpoint(tmp_path / "c.pt", model, opt, 1, torch_rng_state=torch.zeros(1))
    assert not (tmp_path / "c.pt").exists()


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    path = helpers.save_model(helpers.LinearRegressionModel(), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="not a checkpoint"):
        helpers.load_checkpoint(path, helpers.LinearRegressionModel())


def test_optimizer_mismatch_leaves_the_model_untouched(tmp_path, seeded):
    model = helpers.LinearRegressionModel()
    path = helpers.save_checkpoint(tmp_path / "c.pt", model, torch.optim.SGD(model.parameters(), lr=0.1), 1)
    target = helpers.LinearRegressionModel()
    before = target.weights.clone()
    wrong = torch.optim.SGD([target.weights], lr=0.1)  # one parameter where the file has two
    with pytest.raises(ValueError, match="optimizer state does not match"):
        helpers.load_checkpoint(path, target, wrong)
    assert torch.equal(target.weights, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_saved_on_cuda_loads_on_cpu(tmp_path):
    path = helpers.save_model(helpers.LinearRegressionModelV2().to("cuda"), tmp_path / "gpu.pt")
    model = helpers.load_model(helpers.LinearRegressionModelV2(), path, device="cpu")
    assert next(model.parameters()).device.type == "cpu"


def _momentum_checkpoint(path, kind=torch.optim.SGD, **settings):
    """A checkpoint of a model trained two steps with an optimizer that keeps state (momentum, Adam's averages)."""
    torch.manual_seed(0)
    model = helpers.LinearRegressionModelV2()
    optimizer = kind(model.parameters(), lr=0.1, **settings)
    X, y = helpers.make_line_data()
    for _ in range(2):
        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)
    return helpers.save_checkpoint(path, model, optimizer, epoch=2), model


def test_the_optimizer_state_lands_on_the_device_the_model_is_moved_to(tmp_path):
    path, saved = _momentum_checkpoint(tmp_path / "c.pt", momentum=0.9)
    model = helpers.LinearRegressionModelV2()  # built on the cpu
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    helpers.load_checkpoint(path, model, optimizer, device="meta")
    assert {p.device.type for p in model.parameters()} == {"meta"}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    assert all(any(p is q for q in model.parameters()) for p in held)  # the optimizer follows the moved model
    buffers = [optimizer.state[p]["momentum_buffer"] for p in held]
    assert len(buffers) == 2 and {b.device.type for b in buffers} == {"meta"}


def test_adam_state_on_the_meta_device_too(tmp_path):
    path, _ = _momentum_checkpoint(tmp_path / "c.pt", kind=torch.optim.Adam)
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    helpers.load_checkpoint(path, model, optimizer, device=torch.device("meta"))
    states = [optimizer.state[p] for p in model.parameters()]
    assert {s["exp_avg"].device.type for s in states} == {s["exp_avg_sq"].device.type for s in states} == {"meta"}


def test_loading_leaves_the_random_state_alone_unless_asked(tmp_path):
    path, _ = _momentum_checkpoint(tmp_path / "c.pt", momentum=0.9)
    saved_state = torch.load(path, weights_only=True)["torch_rng_state"]
    torch.manual_seed(123)
    alone, (model, optimizer) = helpers.LinearRegressionModelV2(), _fresh_sgd()  # building draws random numbers
    before = torch.get_rng_state()
    assert not torch.equal(before, saved_state)
    helpers.load_checkpoint(path, alone)  # the model alone
    helpers.load_checkpoint(path, model, optimizer)
    assert torch.equal(torch.get_rng_state(), before)
    helpers.load_checkpoint(path, helpers.LinearRegressionModelV2(), restore_rng=True)
    assert torch.equal(torch.get_rng_state(), saved_state)


def _fresh_sgd():
    model = helpers.LinearRegressionModelV2()
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def test_the_optimizer_kind_is_saved_and_a_different_kind_is_refused(tmp_path):
    path, saved = _momentum_checkpoint(tmp_path / "c.pt", momentum=0.9)
    assert torch.load(path, weights_only=True)["optimizer_class"] == "SGD"
    model = helpers.LinearRegressionModelV2()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adam = torch.optim.Adam(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"c.pt holds the state of SGD, but optimizer is Adam.*torch.optim.SGD"):
        helpers.load_checkpoint(path, model, adam)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and not adam.state
    adam.step()  # the optimizer still works: nothing of SGD's went into it


@pytest.mark.parametrize("kind, other", [(torch.optim.SGD, torch.optim.Adam), (torch.optim.Adam, torch.optim.SGD)])
def test_an_old_checkpoint_without_the_kind_still_loads_and_a_different_kind_is_still_refused(tmp_path, kind, other):
    path, saved = _momentum_checkpoint(tmp_path / "c.pt", kind=kind, **({"momentum": 0.9} if kind is torch.optim.SGD else {}))
    old = torch.load(path, weights_only=True)
    del old["optimizer_class"]
    torch.save(old, tmp_path / "old.pt")
    model = helpers.LinearRegressionModelV2()
    optimizer = kind(model.parameters(), lr=0.1, **({"momentum": 0.9} if kind is torch.optim.SGD else {}))
    assert helpers.load_checkpoint(tmp_path / "old.pt", model, optimizer)["epoch"] == 2
    assert torch.equal(model.linear_layer.weight, saved.linear_layer.weight)
    with pytest.raises(ValueError, match="another kind of optimizer"):
        helpers.load_checkpoint(tmp_path / "old.pt", model, other(model.parameters(), lr=0.1))


def test_an_optimizer_of_another_model_is_refused_on_save_and_on_load(tmp_path):
    model, other = helpers.LinearRegressionModelV2(), helpers.LinearRegressionModelV2()
    foreign = torch.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer holds none of model's parameters"):
        helpers.save_checkpoint(tmp_path / "c.pt", model, foreign, 1)
    assert not (tmp_path / "c.pt").exists()
    path = helpers.save_checkpoint(tmp_path / "c.pt", model, torch.optim.SGD(model.parameters(), lr=0.1), 1)
    with pytest.raises(ValueError, match="optimizer holds none of model's parameters"):
        helpers.load_checkpoint(path, helpers.LinearRegressionModelV2(), foreign)


def test_state_for_parameters_in_another_order_is_refused(tmp_path):
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(3, 2)).sum().backward()
    optimizer.step()
    path = helpers.save_checkpoint(tmp_path / "c.pt", model, optimizer, 1)
    target = nn.Linear(2, 1)
    swapped = torch.optim.SGD([target.bias, target.weight], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"shape \[1\] would get state of shape \[1, 2\]"):
        helpers.load_checkpoint(path, target, swapped)


def test_saving_onto_a_folder_fails_before_anything_is_written(tmp_path):
    (tmp_path / "models").mkdir()
    model = helpers.LinearRegressionModel()
    with pytest.raises(ValueError, match=r"'.*models' is a folder: give a file name in it, e.g. '.*models/model.pt'"):
        helpers.save_model(model, tmp_path / "models")
    with pytest.raises(ValueError, match="is a folder"):
        helpers.save_checkpoint(tmp_path / "models", model, torch.optim.SGD(model.parameters(), lr=0.1), 1)
    (tmp_path / "notes").write_text("a file")
    with pytest.raises(ValueError, match=r"notes is a file, not a folder"):
        helpers.save_model(model, tmp_path / "notes" / "model.pt")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["models", "notes"]  # no temp file anywhere


def test_loading_a_folder_an_image_or_text_says_what_it_is(tmp_path):
    from PIL import Image

    (tmp_path / "models").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "digit.png")
    (tmp_path / "data.csv").write_text("x,y\n0.1,0.2\n")
    model = helpers.LinearRegressionModel()
    with pytest.raises(ValueError, match="models is a folder, not a saved file"):
        helpers.load_model(model, tmp_path / "models")
    for name, kind in (("digit.png", "a PNG image"), ("data.csv", "text")):
        with pytest.raises(ValueError, match=f"{name}: it is {kind}, not a file written by torch.save") as err:
            helpers.load_model(model, tmp_path / name)
        assert "weights_only=False" not in str(err.value)


def test_a_model_file_and_a_checkpoint_are_told_apart(tmp_path):
    model = helpers.LinearRegressionModel()
    model_file = helpers.save_model(model, tmp_path / "m.pt")
    checkpoint = helpers.save_checkpoint(tmp_path / "c.pt", model, torch.optim.SGD(model.parameters(), lr=0.1), 1)
    with pytest.raises(ValueError, match="m.pt holds a state_dict .*use helpers.load_model"):
        helpers.load_checkpoint(model_file, model)
    with pytest.raises(ValueError, match="c.pt is a checkpoint .*use helpers.load_checkpoint"):
        helpers.load_model(model, checkpoint)


@pytest.mark.parametrize("device, error, match", [
    ("gpu", ValueError, "device='gpu' is not a device name"),
    (0, TypeError, "device must be a str"),
] + ([] if torch.cuda.is_available() else [("cuda", ValueError, "no CUDA GPU")]))
def test_a_device_that_is_not_there_is_named_before_loading(tmp_path, device, error, match):
    model = helpers.LinearRegressionModel()
    path = helpers.save_model(model, tmp_path / "m.pt")
    with pytest.raises(error, match=match):
        helpers.load_model(model, path, device=device)
    with pytest.raises(error, match=match):
        helpers.load_checkpoint(path, model, device=device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_generators_are_saved_and_restored_when_asked(tmp_path):
    torch.cuda.init()
    path, _ = _momentum_checkpoint(tmp_path / "c.pt", momentum=0.9)
    saved = torch.load(path, weights_only=True)["cuda_rng_states"]
    assert len(saved) == torch.cuda.device_count()
    torch.cuda.manual_seed_all(7)
    helpers.load_checkpoint(path, helpers.LinearRegressionModelV2(), restore_rng=True)
    assert torch.equal(torch.cuda.get_rng_state(0), saved[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_resuming_on_cuda_puts_momentum_on_the_gpu_and_steps(tmp_path, line):
    path, _ = _momentum_checkpoint(tmp_path / "c.pt", momentum=0.9)
    model, optimizer = _fresh_sgd()
    helpers.load_checkpoint(path, model, optimizer, device="cuda")
    assert all(optimizer.state[p]["momentum_buffer"].is_cuda for p in model.parameters())
    helpers.train_step(model, line[0].cuda(), line[1].cuda(), nn.MSELoss(), optimizer)


def test_a_model_and_a_path_given_the_other_way_round_get_the_order(tmp_path):
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "m.pt"
    with pytest.raises(TypeError, match=r"the other way round: the order is save_model\(model, path\)"):
        helpers.save_model(path, model)
    with pytest.raises(TypeError, match=r"the order is load_model\(model, path\)"):
        helpers.load_model(str(path), model)
    with pytest.raises(TypeError, match=r"the order is save_checkpoint\(path, model, optimizer, epoch\)"):
        helpers.save_checkpoint(model, path, optimizer, 1)
    with pytest.raises(TypeError, match=r"the order is load_checkpoint\(path, model, optimizer\)"):
        helpers.load_checkpoint(model, path, optimizer)
    assert list(tmp_path.iterdir()) == []
