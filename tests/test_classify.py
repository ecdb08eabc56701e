"""helpers.classify: accuracy, confusion matrix, the digit models and the loop that trains to a goal."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import classify as C


def test_accuracy_takes_logits_or_labels():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [9.0, 0.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0])
    assert C.accuracy(logits, y) == pytest.approx(0.75)
    assert C.accuracy(torch.tensor([0, 1, 1, 2]), y) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="same number of rows"):
        C.accuracy(logits, y[:3])
    with pytest.raises(ValueError, match="logits"):
        C.accuracy(torch.zeros(4, 2, 2), y)


def test_confusion_matrix_rows_are_true_classes():
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    y_pred = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = C.confusion_matrix(y_pred, y, num_classes=4)
    expected = torch.zeros(4, 4, dtype=torch.long)
    for t, p in zip(y.tolist(), y_pred.tolist()):
        expected[t, p] += 1
    assert torch.equal(cm, expected) and cm.sum() == 6 and cm.trace() == 4
    assert C.confusion_matrix(y_pred, y).shape == (3, 3)
    with pytest.raises(ValueError, match="integer class labels"):
        C.confusion_matrix(torch.zeros(6, 3), y)
    with pytest.raises(ValueError, match=r"y_pred holds the label 2, but there are 2 classes \(labels 0 to 1\)"):
        C.confusion_matrix(y_pred, y, num_classes=2)


@pytest.mark.parametrize("model", [C.DigitMLP(), C.DigitCNN(), C.DigitCNN(num_classes=5, channels=4)])
def test_models_map_digit_batches_to_logits(model):
    out = model(torch.rand(7, 1, 8, 8))
    assert out.shape == (7, model(torch.rand(1, 1, 8, 8)).shape[1]) and not torch.isnan(out).any()


def test_cnn_has_a_features_part_to_freeze_and_a_head_to_replace():
    model = C.DigitCNN(channels=4)
    total = C.count_parameters(model)
    assert total == sum(p.numel() for p in model.parameters())
    model.features.requires_grad_(False)
    assert C.count_parameters(model) == sum(p.numel() for p in model.classifier.parameters())
    assert C.count_parameters(model, trainable_only=False) == total
    with pytest.raises(TypeError, match="channels must be an int"):
        C.DigitCNN(channels=2.5)


def test_predict_logits_batches_in_eval_mode():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.9))
    X = torch.rand(10, 1, 2, 2)
    out = C.predict_logits(model, X, batch_size=3)
    assert not model.training and torch.allclose(out, model(X)) and not out.requires_grad
    with pytest.raises(TypeError, match="torch.Tensor"):
        C.predict_logits(model, [[1.0]])


def _blobs(n=120):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    X = torch.randn(n, 1, 2, 2, generator=g) * 0.3 + y.view(-1, 1, 1, 1).float()
    return X, y


def test_fit_to_goal_stops_once_validation_accuracy_exceeds_the_goal():
    torch.manual_seed(0)
    X, y = _blobs()
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    history = C.fit_to_goal(model, loader, (X, y), nn.CrossEntropyLoss(),
                            torch.optim.Adam(model.parameters(), lr=0.05), goal=0.9, max_epochs=50)
    assert history.reached_goal and history.val_accuracy[-1] > 0.9
    assert all(a <= 0.9 for a in history.val_accuracy[:-1]) and history.epochs == len(history.val_accuracy)
    assert C.accuracy(C.predict_logits(model, X), y) == pytest.approx(history.val_accuracy[-1])


def test_fit_to_goal_respects_max_epochs_and_checks_its_arguments():
    X, y = _blobs()
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    loader = DataLoader(TensorDataset(X, y), batch_size=32)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)
    history = C.fit_to_goal(model, loader, (X, y), nn.CrossEntropyLoss(), opt, goal=0.99, max_epochs=3)
    assert history.epochs == 3 and not history.reached_goal
    with pytest.raises(ValueError, match="goal must be an accuracy"):
        C.fit_to_goal(model, loader, (X, y), nn.CrossEntropyLoss(), opt, goal=97, max_epochs=3)
    with pytest.raises(TypeError, match="train_loader must be a torch.utils.data.DataLoader"):
        C.fit_to_goal(model, (X, y), (X, y), nn.CrossEntropyLoss(), opt, goal=0.9, max_epochs=3)
    with pytest.raises(ValueError, match="max_epochs must be at least 1"):
        C.fit_to_goal(model, loader, (X, y), nn.CrossEntropyLoss(), opt, goal=0.9, max_epochs=0)


def test_digit_cnn_is_the_network_notebook_09_writes_out():
    model = C.DigitCNN()
    convs = (1 * 32 * 9 + 32) + (32 * 64 * 9 + 64)
    head = (64 * 4 * 4 * 128 + 128) + (128 * 10 + 10)
    assert C.count_parameters(model) == convs + head
    assert C.count_parameters(model.features) == convs
    assert model.features(torch.zeros(2, 1, 8, 8)).shape == (2, 1024)


# --- bad input: silently wrong before, now a clear error ---------------------------------------------


@pytest.mark.parametrize("y_hat, y, error, match", [
    (torch.eye(3), torch.tensor([0, 1, 3]), ValueError, r"y holds the label 3, but there are 3 classes \(labels 0 to 2\)"),
    (torch.eye(3), torch.tensor([0, -1, 2]), ValueError, "y holds the label -1"),
    (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), ValueError, "empty: the accuracy of no predictions is undefined"),
    (torch.full((3, 3), float("nan")), torch.tensor([0, 1, 2]), ValueError, "y_hat holds NaN scores"),
    (torch.eye(3), torch.tensor([0.0, 1.0, 2.0]), TypeError, r"y must hold integer class labels, got torch.float32: use y.long\(\)"),
    (torch.eye(3), torch.tensor([[0], [1], [2]]), ValueError, r"y must be class labels of shape \[N\], got \[3, 1\]: use y.squeeze\(1\)"),
    (torch.tensor([[0.3], [-2.0], [1.0]]), torch.tensor([1, 0, 1]), ValueError, "with one score per sample, argmax is always 0"),
    (torch.tensor([0.9, 0.2, 0.7]), torch.tensor([1, 0, 1]), TypeError, "y_hat must hold integer class labels"),
])
def test_accuracy_refuses_what_would_give_a_plausible_wrong_number(y_hat, y, error, match):
    with pytest.raises(error, match=match):
        C.accuracy(y_hat, y)


def test_confusion_matrix_refuses_empty_input_and_names_the_tensor_with_a_bad_label():
    empty = torch.zeros(0, dtype=torch.long)
    with pytest.raises(ValueError, match="y_pred and y are empty"):
        C.confusion_matrix(empty, empty)
    with pytest.raises(ValueError, match="y_pred and y are empty"):
        C.confusion_matrix(empty, empty, num_classes=3)
    with pytest.raises(ValueError, match="y_pred holds the label -1"):
        C.confusion_matrix(torch.tensor([0, -1]), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        C.confusion_matrix(torch.tensor([0, 1]), torch.tensor([True, False]))


def _goal_setup():
    X, y = _blobs()
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    return model, DataLoader(TensorDataset(X, y), batch_size=32), (X, y), torch.optim.SGD(model.parameters(), lr=0.1)


@pytest.mark.parametrize("change, error, match", [
    ({"loss_fn": nn.CrossEntropyLoss}, TypeError, "loss_fn must be a loss function, got the class CrossEntropyLoss"),
    ({"loss_fn": "cross entropy"}, TypeError, "loss_fn must be callable"),
    ({"optimizer": None}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ({"optimizer": torch.optim.Adam(nn.Linear(4, 3).parameters())}, ValueError, "optimizer holds none of model's parameters"),
    ({"train_loader": DataLoader(TensorDataset(*_blobs()), batch_size=500, drop_last=True)}, ValueError,
     "train_loader yields no batches: drop_last=True"),
    ({"train_loader": DataLoader(TensorDataset(_blobs()[0]), batch_size=32)}, ValueError, r"batches of 1 item\(s\)"),
    ({"train_loader": DataLoader(TensorDataset(_blobs()[0], _blobs()[1].float()), batch_size=32)}, TypeError,
     r"y in train_loader's batches holds class labels as torch.float32.*y.long\(\)"),
    ({"val_data": (_blobs()[0].double(), _blobs()[1])}, TypeError, r"val_data\[0\] holds floating-point numbers of dtype torch.float64"),
    ({"val_data": _blobs()[0]}, TypeError, r"val_data must be an \(X_val, y_val\) tuple"),
])
def test_fit_to_goal_refuses_bad_input_before_its_first_update(change, error, match):
    model, loader, val, optimizer = _goal_setup()
    args = {"model": model, "train_loader": loader, "val_data": val, "loss_fn": nn.CrossEntropyLoss(),
            "optimizer": optimizer, "goal": 0.9, "max_epochs": 2, **change}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=match):
        C.fit_to_goal(**args)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fit_to_goal_names_validation_labels_the_model_has_no_class_for():
    model, loader, (X, y), optimizer = _goal_setup()  # the model's 3 classes show in its first output
    with pytest.raises(ValueError, match=r"val_data\[1\] holds the label 3, but there are 3 classes"):
        C.fit_to_goal(model, loader, (X, y + 1), nn.CrossEntropyLoss(), optimizer, goal=0.9, max_epochs=2)


def test_count_parameters_and_predict_logits_name_their_mistakes():
    with pytest.raises(TypeError, match=r"got the class DigitCNN: create one with DigitCNN\(\)"):
        C.count_parameters(C.DigitCNN)
    with pytest.raises(TypeError, match="trainable_only must be True or False"):
        C.count_parameters(C.DigitMLP(), trainable_only="yes")
    with pytest.raises(ValueError, match="X is empty"):
        C.predict_logits(C.DigitMLP(), torch.zeros(0, 1, 8, 8))
    with pytest.raises(TypeError, match="X holds floating-point numbers of dtype torch.float64"):
        C.predict_logits(C.DigitMLP(), torch.zeros(2, 1, 8, 8, dtype=torch.float64))


def test_the_digit_models_name_images_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"DigitCNN expects a batch of grey 8x8 images, shape \[N, 1, 8, 8\], got \[2, 64\]"):
        C.DigitCNN()(torch.rand(2, 64))
    with pytest.raises(ValueError, match=r"got \[2, 1, 28, 28\]"):
        C.DigitCNN()(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"DigitMLP\(in_features=64\) expects .* got shape \[2, 1, 28, 28\]"):
        C.DigitMLP()(torch.rand(2, 1, 28, 28))
    assert C.DigitMLP()(torch.rand(2, 64)).shape == (2, 10)  # flat pixels are fine: the same 64 numbers
