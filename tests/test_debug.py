"""helpers.debug.diagnose: each code from a buggy step of its own, correct steps clean, the caller's objects kept."""

import html
import warnings

import pytest
import torch
import torch.nn.functional as F
import torch.optim.optimizer as torch_optimizer
from torch import nn

import helpers
from helpers.classify import DigitCNN
from helpers.debug import CODES, Finding, Report, diagnose

# Models and data ---------------------------------------------------------------------------------


def mlp() -> nn.Module:
    """A small MLP with dropout, for 4 features and one output."""
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1))


def cnn() -> nn.Module:
    """A small CNN for [N, 1, 8, 8] images and 10 classes."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


@pytest.fixture
def images():
    """Random [16, 1, 8, 8] images with labels among 10 classes."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)


@pytest.fixture
def table():
    """64 rows of 4 features with one target each."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(64, 4, generator=g)
    return X, X @ torch.tensor([[0.5], [-1.0], [2.0], [0.1]]) + 0.1 * torch.randn(64, 1, generator=g)


def line_setup(lr: float = 0.01, loss_fn: nn.Module | None = None):
    """The course's line model, its SGD optimizer and loss (L1 unless given)."""
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    return model, loss_fn or nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=lr)


def run_line(step, lr: float = 0.01, loss_fn=None, **kwargs) -> Report:
    """diagnose `step` on the course's line."""
    X, y = helpers.make_line_data()
    model, loss_fn, optimizer = line_setup(lr, loss_fn)
    return diagnose(step, model, loss_fn, optimizer, kwargs.pop("X", X), kwargs.pop("y", y), **kwargs)


# Steps a learner might write, each wrong in one way ----------------------------------------------


def step_without_zero_grad(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_without_optimizer_step(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def step_zero_grad_after_backward(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def step_without_backward(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def step_step_before_backward(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
    return loss.item()


def step_squeezed_prediction(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X).squeeze(), y)  # [N] against y's [N, 1]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_cross_entropy_by_hand(model, X, y, loss_fn, optimizer):
    model.train()
    loss = -torch.log(model(X))[range(len(y)), y].mean()  # log of raw scores: softmax forgotten
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_gradient_ascent(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p += 0.1 * p.grad  # should be -=
    return loss.item()


def step_in_eval_mode(model, X, y, loss_fn, optimizer):
    model.eval()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_forward_under_no_grad(model, X, y, loss_fn, optimizer):
    model.train()
    with torch.no_grad():
        y_pred = model(X)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_forward_under_inference_mode(model, X, y, loss_fn, optimizer):
    model.train()
    with torch.inference_mode():
        y_pred = model(X)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_detached_prediction(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X).detach(), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_loss_from_item(model, X, y, loss_fn, optimizer):
    model.train()
    loss = torch.tensor(loss_fn(model(X), y).item(), requires_grad=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_item_too_early(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y).item()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def step_softmax_first(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(torch.softmax(model(X), dim=1), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_on_global_model(model, X, y, loss_fn, optimizer):
    return helpers.train_step(GLOBAL_MODEL, X, y, loss_fn, GLOBAL_OPTIMIZER)


torch.manual_seed(0)
GLOBAL_MODEL = helpers.LinearRegressionModel()
GLOBAL_OPTIMIZER = torch.optim.SGD(GLOBAL_MODEL.parameters(), lr=0.01)


def step_that_raises(model, X, y, loss_fn, optimizer):
    raise ValueError("my own mistake")


# Correct steps: empty reports ----------------------------------------------------------------------


def test_train_step_on_the_line_is_clean():
    report = run_line(helpers.train_step)
    assert report.codes == [] and not report and len(report) == 0
    assert len(report.losses) == 5 and report.losses[-1] < report.losses[0]
    assert str(report).startswith("No problems found in 5 steps")


def test_nn_linear_with_adam_and_mse_is_clean(line):
    torch.manual_seed(0)
    model = helpers.LinearRegressionModelV2()
    report = diagnose(helpers.train_step, model, nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=0.01), *line)
    assert report.codes == []


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_mlp_with_dropout_is_clean_despite_noisy_losses(table, seed, opt):
    torch.manual_seed(seed)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01) if opt == "sgd" else torch.optim.Adam(model.parameters())
    assert diagnose(helpers.train_step, model, nn.MSELoss(), optimizer, *table).codes == []


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_cnn_with_cross_entropy_is_clean(images, opt):
    torch.manual_seed(0)
    model = cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1) if opt == "sgd" else torch.optim.Adam(model.parameters())
    report = diagnose(helpers.train_step, model, nn.CrossEntropyLoss(), optimizer, *images)
    assert report.codes == []


def test_other_correct_orders_are_clean(table):
    def zero_grad_last(model, X, y, loss_fn, optimizer):
        model.train()
        loss_fn(model(X), y).backward()
        optimizer.step()
        optimizer.zero_grad()

    def two_half_batches(model, X, y, loss_fn, optimizer):  # gradient accumulation on purpose, within one step
        model.train()
        optimizer.zero_grad()
        for part in (slice(0, 32), slice(32, 64)):
            (loss_fn(model(X[part]), y[part]) / 2).backward()
        optimizer.step()

    for step in (zero_grad_last, two_half_batches):
        torch.manual_seed(0)
        model = mlp()
        report = diagnose(step, model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), *table)
        assert report.codes == [], step.__name__
        assert len(report.losses) == 5  # taken from the loss function when the step returns nothing


def test_deliberately_frozen_layers_are_not_a_finding(table):
    torch.manual_seed(0)
    model = mlp()
    model[0].requires_grad_(False)
    report = diagnose(helpers.train_step, model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), *table)
    assert report.codes == []


# Each code from its own bug ------------------------------------------------------------------------


def test_grads_accumulate_without_zero_grad():
    report = run_line(step_without_zero_grad)
    assert report.codes == ["grads-accumulate"] and "zero_grad" in report[0].message


def test_grads_accumulate_is_found_with_adam_and_dropout(table):
    torch.manual_seed(0)
    model = mlp()
    report = diagnose(step_without_zero_grad, model, nn.MSELoss(), torch.optim.Adam(model.parameters()), *table)
    assert report.codes == ["grads-accumulate"]


@pytest.mark.parametrize(
    "step, words",
    [
        (step_without_optimizer_step, "optimizer.step() was never called"),
        (step_without_backward, "loss.backward() was never called"),
    ],
)
def test_no_update_names_its_cause(step, words):
    report = run_line(step)
    assert report.codes == ["no-update"] and words in report[0].cause


def test_no_update_when_the_optimizer_holds_another_models_parameters(line):
    model, other = helpers.LinearRegressionModel(), helpers.LinearRegressionModel()
    report = diagnose(helpers.train_step, model, nn.L1Loss(), torch.optim.SGD(other.parameters(), lr=0.01), *line)
    assert report.codes == ["no-update"] and "the optimizer holds other parameters" in report[0].message.lower()


def test_no_update_when_everything_is_frozen_or_lr_is_zero(line):
    model = helpers.LinearRegressionModel().requires_grad_(False)
    report = diagnose(helpers.train_step, model, nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), *line)
    assert report.codes == ["no-update"] and "frozen" in report[0].message
    report = run_line(helpers.train_step, lr=0.0)
    assert report.codes == ["no-update"] and "learning rate is 0" in report[0].cause


def test_shape_mismatch_when_the_loss_broadcasts():
    report = run_line(step_squeezed_prediction)
    assert report.codes == ["shape-mismatch"] and "[50, 50]" in report[0].seen
    report = run_line(helpers.train_step, y=helpers.make_line_data()[1].squeeze(1))
    assert report.codes == ["shape-mismatch"]


def test_shape_mismatch_when_the_data_does_not_fit_the_model(images):
    model = cnn()
    report = diagnose(
        helpers.train_step,
        model,
        nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.1),
        images[0].flatten(1),
        images[1],
    )
    assert report.codes == ["shape-mismatch"] and "[16, 64]" in report[0].seen


def test_not_finite_from_a_nan_making_step_and_from_nan_data(images):
    model = cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    report = diagnose(step_cross_entropy_by_hand, model, nn.CrossEntropyLoss(), optimizer, *images)
    assert report.codes == ["not-finite"] and "detect_anomaly" in report[0].fix and "nan" in report[0].seen
    X, _ = helpers.make_line_data()
    X[3] = float("nan")
    report = run_line(helpers.train_step, X=X)
    assert report.codes == ["not-finite"] and "X or y contains NaN" in report[0].cause


def test_loss_increasing_from_gradient_ascent_and_from_a_learning_rate_a_little_too_high():
    report = run_line(step_gradient_ascent, loss_fn=nn.MSELoss())
    assert report.codes == ["loss-increasing"] and "without the optimizer passed in" in report[0].cause
    assert all(b > a for a, b in zip(report.losses, report.losses[1:]))
    assert report.losses[-1] < 10 * report.losses[0]  # a climb, not an explosion
    report = run_line(helpers.train_step, lr=0.9, loss_fn=nn.MSELoss())  # above 2 / curvature, not far above
    assert report.codes == ["loss-increasing"] and "SGD with lr=0.9" in report[0].cause and "lr=0.09" in report[0].fix


def test_eval_mode_during_training(table):
    torch.manual_seed(0)
    model = mlp()
    report = diagnose(step_in_eval_mode, model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), *table)
    assert report.codes == ["eval-mode"] and "Dropout" in report[0].seen


def test_eval_mode_left_over_from_evaluation_without_dropout_says_it_does_not_matter_yet():
    def step_without_train(model, X, y, loss_fn, optimizer):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    X, y = helpers.make_line_data()
    model, loss_fn, optimizer = line_setup()
    assert diagnose(step_without_train, model, loss_fn, optimizer, X, y).codes == []
    model.eval()
    report = diagnose(step_without_train, model, loss_fn, optimizer, X, y)
    assert report.codes == ["eval-mode"] and "nothing changes yet" in report[0].cause


@pytest.mark.parametrize(
    "step, words",
    [
        (step_forward_under_no_grad, "torch.no_grad()"),
        (step_forward_under_inference_mode, "torch.inference_mode()"),
        (step_detached_prediction, "cut from its graph"),
        (step_loss_from_item, "rebuilt from a number"),
        (step_item_too_early, ".item()"),
    ],
)
def test_no_graph_names_how_the_graph_was_lost(step, words):
    report = run_line(step)
    assert report.codes == ["no-graph"] and words in report[0].cause


def test_dtype_mismatch_with_float64_data(line):
    X, y = line
    torch.manual_seed(0)
    model = helpers.LinearRegressionModelV2()  # nn.Linear refuses float64 input
    report = diagnose(
        helpers.train_step, model, nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), X.double(), y
    )
    assert report.codes == ["dtype-mismatch"] and "torch.float64" in report[0].seen
    report = run_line(helpers.train_step, X=X.double())  # the hand-made line model silently computes in float64
    assert report.codes == ["dtype-mismatch"]


def test_device_mismatch_with_meta_tensors(line):
    X, y = line
    assert run_line(helpers.train_step, X=X.to("meta")).codes == ["device-mismatch"]
    report = run_line(helpers.train_step, y=y.to("meta"))
    assert report.codes == ["device-mismatch"] and "meta" in report[0].seen


def test_loss_not_scalar(images):
    model = cnn()
    report = diagnose(
        helpers.train_step,
        model,
        nn.CrossEntropyLoss(reduction="none"),
        torch.optim.SGD(model.parameters(), lr=0.1),
        *images,
    )
    assert report.codes == ["loss-not-scalar"] and "[16]" in report[0].seen


def test_softmax_before_cross_entropy(images):
    model = cnn()
    report = diagnose(
        step_softmax_first, model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), *images
    )
    assert report.codes == ["softmax-before-cross-entropy"]


def test_missing_log_softmax_and_float_targets(images):
    X, y = images
    model = cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert diagnose(helpers.train_step, model, nn.NLLLoss(), optimizer, X, y).codes == ["missing-log-softmax"]
    report = diagnose(helpers.train_step, model, nn.CrossEntropyLoss(), optimizer, X, y.float())
    assert report.codes == ["target-dtype"] and "y.long()" in report[0].fix


def test_frozen_when_the_optimizer_holds_part_of_the_model_or_a_layer_is_unused(table):
    torch.manual_seed(0)
    model = mlp()
    report = diagnose(helpers.train_step, model, nn.MSELoss(), torch.optim.SGD(model[3].parameters(), lr=0.01), *table)
    assert report.codes == ["frozen"] and "0.weight" in report[0].cause

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = nn.Linear(4, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.out(x)  # forgot self.hidden

    model = Unused()
    report = diagnose(helpers.train_step, model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), *table)
    assert report.codes == ["frozen"] and "hidden.weight" in report[0].cause


def test_wrong_order_model_not_called_and_other_errors():
    assert run_line(step_step_before_backward).codes == ["wrong-order"]
    before = {k: v.clone() for k, v in GLOBAL_MODEL.state_dict().items()}
    assert run_line(step_on_global_model).codes == ["model-not-called"]
    GLOBAL_MODEL.load_state_dict(before)
    report = run_line(step_that_raises)
    assert report.codes == ["step-error"] and "my own mistake" in report[0].seen


# The caller's objects never change -----------------------------------------------------------------


@pytest.mark.parametrize("step", [helpers.train_step, step_without_zero_grad, step_gradient_ascent, step_in_eval_mode])
def test_the_callers_model_optimizer_grads_rng_and_data_are_unchanged(table, step):
    X, y = table
    torch.manual_seed(0)
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    helpers.train_step(model, X, y, nn.MSELoss(), optimizer)  # gives the optimizer a state, the params .grad
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    moments = {k: {n: t.clone() for n, t in s.items()} for k, s in opt_state["state"].items()}
    grads = [p.grad.clone() for p in model.parameters()]
    X_before, y_before = X.clone(), y.clone()
    torch.manual_seed(7)
    diagnose(step, model, nn.MSELoss(), optimizer, X, y)
    after_rng = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after_rng, torch.rand(3))  # diagnose draws dropout masks without moving the caller's RNG
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    new = optimizer.state_dict()
    assert new["param_groups"] == opt_state["param_groups"]
    assert all(torch.equal(t, new["state"][k][n]) for k, s in moments.items() for n, t in s.items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    assert model.training and torch.equal(X, X_before) and torch.equal(y, y_before)


def test_broadcast_warning_is_a_finding_not_a_warning_and_a_steps_own_warning_passes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_line(step_squeezed_prediction).codes == ["shape-mismatch"]

    def noisy(model, X, y, loss_fn, optimizer):
        warnings.warn("hello from the step")
        return helpers.train_step(model, X, y, loss_fn, optimizer)

    with pytest.warns(UserWarning, match="hello from the step"):
        assert run_line(noisy).codes == []


# Arguments and rendering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "position, value, name",
    [
        (0, "train_step", "step"),
        (1, "model", "model"),
        (2, None, "loss_fn"),
        (3, {"lr": 0.1}, "optimizer"),
        (4, [[0.0]], "X"),
        (5, 0.3, "y"),
    ],
)
def test_arguments_of_the_wrong_kind_are_refused(line, position, value, name):
    model, loss_fn, optimizer = line_setup()
    args = [helpers.train_step, model, loss_fn, optimizer, *line]
    args[position] = value
    with pytest.raises(TypeError, match=name):
        diagnose(*args)


def test_steps_must_be_a_positive_int():
    with pytest.raises(ValueError, match="steps"):
        run_line(helpers.train_step, steps=0)
    with pytest.raises(TypeError, match="steps"):
        run_line(helpers.train_step, steps=2.0)
    report = run_line(helpers.train_step, steps=2)
    assert report.steps == 2 and len(report.losses) == 2 and "in 2 steps" in str(report)


def test_text_and_html_show_every_code_and_message():
    report = run_line(step_loss_from_item)
    (finding,) = report
    assert isinstance(finding, Finding) and "no-graph" in report and finding in report and bool(report)
    text, page = str(report), report._repr_html_()
    assert report.codes == ["no-graph"] and finding.seen in text and finding.cause in text and finding.fix in text
    assert "<table" in page and "likely cause" in page and "no-graph" in page
    assert all(html.escape(part) in page for part in (finding.seen, finding.cause, finding.fix))
    assert (
        finding.message.startswith(finding.seen) and finding.cause in finding.message and finding.fix in finding.message
    )


def test_an_empty_report_says_so_with_the_losses():
    report = run_line(helpers.train_step)
    first = f"{report.losses[0]:.4g}"
    assert "No problems found in 5 steps" in report._repr_html_() and first in report._repr_html_()
    assert first in str(report) and list(report) == [] and repr(report) == "Report(codes=[], steps=5)"


def test_a_model_that_cannot_be_copied_gets_a_clear_error(line):
    class Cached(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(1, 1)
            self.cache = self.linear.weight * 2  # a tensor with a graph: copy.deepcopy refuses it

        def forward(self, x):
            return self.linear(x)

    model = Cached()
    with pytest.raises(ValueError, match="deepcopy"):
        diagnose(helpers.train_step, model, nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), *line)


def test_class_labels_shaped_n_by_1_are_a_shape_mismatch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    torch.manual_seed(0)
    X, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32, 1))
    report = diagnose(helpers.train_step, model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), X, y)
    assert report.codes == ["shape-mismatch"]


def test_batch_norm_kept_in_eval_on_purpose_while_the_model_trains_is_fine():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))

    def step(model, X, y, loss_fn, optimizer):
        model.train()
        model[1].eval()  # keep the pretrained batch-norm statistics
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    X, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    report = diagnose(step, model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01), X, y)
    assert "eval-mode" not in report.codes


# Issue 20: the bugs learners really make, on the line model and on the digits CNN -------------------
#
# Every case runs on both patients: the course's line (LinearRegressionModel, MSE, 50 points) and the
# digits CNN (helpers.classify.DigitCNN, cross-entropy, a batch of 64 random 8x8 images).


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread: the CNN's steps are small, and two cores are shared with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def patient(kind: str, opt: str = "sgd", lr: float | None = None, model: nn.Module | None = None, **options):
    """(model, loss_fn, optimizer, X, y) for 'line' or 'cnn'; opt is 'sgd', 'adam' or 'adamw'."""
    torch.manual_seed(42)
    if kind == "line":
        X, y = helpers.make_line_data()
        model, loss_fn = model or helpers.LinearRegressionModel(), nn.MSELoss()
        default = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}[opt]
    else:
        g = torch.Generator().manual_seed(3)
        X, y = torch.rand(64, 1, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
        model, loss_fn = model or DigitCNN(), nn.CrossEntropyLoss()
        default = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3}[opt]
    make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[opt]
    return model, loss_fn, make(model.parameters(), lr=default if lr is None else lr, **options), X, y


def doctor(step, kind: str, *, steps: int = 5, **setup) -> Report:
    """diagnose `step` on a fresh patient."""
    model, loss_fn, optimizer, X, y = patient(kind, **setup)
    return diagnose(step, model, loss_fn, optimizer, X, y, steps=steps)


def with_norm_layers(kind: str) -> nn.Module:
    """A model with batch norm and dropout for the line (1 feature) or the digits."""
    torch.manual_seed(42)
    if kind == "line":
        return nn.Sequential(nn.Linear(1, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5), nn.Linear(512, 10)
    )


def step_clipped(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)  # small enough to clip every step here
    optimizer.step()
    return loss.item()


def step_zeros_kept(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad(set_to_none=False)  # zeros instead of None: also right
    loss.backward()
    optimizer.step()
    return loss.item()


def step_shuffled_together(model, X, y, loss_fn, optimizer):
    idx = torch.randperm(len(X))  # one index for both: inputs and labels still match
    return helpers.train_step(model, X[idx], y[idx], loss_fn, optimizer)


def step_soft_targets(model, X, y, loss_fn, optimizer):
    """Cross-entropy against smoothed one-hot rows of y, or MSE against standardised y: both on purpose."""
    model.train()
    y_pred = model(X)
    if y.is_floating_point():
        target = (y - y.mean()) / y.std()
    else:
        target = 0.9 * F.one_hot(y, 10).float() + 0.01
    loss = loss_fn(y_pred, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


CLEAN = {  # name -> what to diagnose, as keyword arguments of doctor() (besides the patient's kind)
    "SGD": {"step": helpers.train_step},
    "SGD with momentum": {"step": helpers.train_step, "lr": 0.01, "momentum": 0.9},
    "Adam": {"step": helpers.train_step, "opt": "adam"},
    "Adam at 0.01": {"step": helpers.train_step, "opt": "adam", "lr": 0.01},
    "gradient clipping": {"step": step_clipped, "opt": "adam"},
    "SGD weight decay": {"step": helpers.train_step, "weight_decay": 0.01},
    "AdamW weight decay": {"step": helpers.train_step, "opt": "adamw", "weight_decay": 0.1},
    "zero_grad(set_to_none=False)": {"step": step_zeros_kept, "lr": 0.01, "momentum": 0.9},
    "X and y shuffled together": {"step": step_shuffled_together},
    "soft or standardised targets": {"step": step_soft_targets},
}


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("case", list(CLEAN))
def test_correct_steps_are_clean_on_both_models(kind, case):
    report = doctor(kind=kind, **CLEAN[case])
    assert report.codes == [], (case, [str(f) for f in report])


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_batch_norm_and_dropout_models_are_clean(kind, opt):
    report = doctor(helpers.train_step, kind, opt=opt, model=with_norm_layers(kind))
    assert report.codes == [], [str(f) for f in report]


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_a_scheduler_stepped_per_epoch_is_clean(kind):
    model, loss_fn, optimizer, X, y = patient(kind, lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _epoch in range(2):
        helpers.train_step(model, X, y, loss_fn, optimizer)
        scheduler.step()
    before = [p.detach().clone() for p in model.parameters()]
    report = diagnose(helpers.train_step, model, loss_fn, optimizer, X, y)
    assert report.codes == [] and optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters()))  # the scheduler stepped no original


@pytest.mark.parametrize("seed", range(4))
def test_the_digits_cnn_with_dropout_and_adam_is_clean_despite_noisy_losses(seed):
    model, loss_fn, optimizer, X, y = patient("cnn", opt="adam", lr=0.01)
    torch.manual_seed(seed)
    report = diagnose(helpers.train_step, model, loss_fn, optimizer, X, y)
    assert report.codes == [] and report.losses[-1] < report.losses[0]


# A loss that blows up, under any optimizer --------------------------------------------------------


@pytest.mark.parametrize(
    "kind, opt, lr", [("cnn", "adam", 1.0), ("cnn", "adam", 10.0), ("cnn", "adam", 100.0), ("cnn", "sgd", 20.0),
                      ("line", "sgd", 2.0), ("line", "adam", 1.0)]
)
def test_a_loss_that_blows_up_names_the_learning_rate(kind, opt, lr):
    report = doctor(helpers.train_step, kind, opt=opt, lr=lr)
    assert report.codes in (["loss-exploding"], ["not-finite"]), [str(f) for f in report]
    (finding,) = report
    assert f"lr={lr:g}" in finding.cause and f"lr={lr / 10:g}" in finding.fix
    if finding.code == "loss-exploding":
        assert max(report.losses) >= 10 * report.losses[0] and "times its start" in finding.seen


def test_a_loss_that_jumps_and_comes_down_is_still_an_explosion():
    report = doctor(helpers.train_step, "cnn", opt="adam", lr=1.0)
    assert report.codes == ["loss-exploding"] and report.losses[-1] < max(report.losses)
    assert not all(b > a for a, b in zip(report.losses, report.losses[1:]))  # not a steady climb


# The optimizer passed in, never used; or stepped twice -------------------------------------------


def step_new_adam(model, X, y, loss_fn, optimizer):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)  # a fresh one every call: its averages are lost
    return helpers.train_step(model, X, y, loss_fn, optimizer)


def step_new_momentum_sgd(model, X, y, loss_fn, optimizer):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return helpers.train_step(model, X, y, loss_fn, opt)


def step_twice(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    optimizer.step()  # pasted twice
    return loss.item()


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("step, opt", [(step_new_adam, "adam"), (step_new_momentum_sgd, "sgd")])
def test_an_optimizer_re_created_inside_the_step(kind, step, opt):
    report = doctor(step, kind, opt=opt, lr=0.01, **({"momentum": 0.9} if opt == "sgd" else {}))
    assert report.codes == ["optimizer-not-used"], [str(f) for f in report]
    assert "a new" in report[0].seen and "inside the step" in report[0].cause


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_optimizer_step_called_twice(kind, opt):
    report = doctor(step_twice, kind, opt=opt, lr=0.01)
    assert report.codes == ["repeated-step"] and "2 times" in report[0].seen


def test_a_global_optimizer_for_another_copy_is_no_update_with_its_cause(line):
    torch.manual_seed(0)
    model = helpers.LinearRegressionModel()
    elsewhere = torch.optim.SGD(helpers.LinearRegressionModel().parameters(), lr=0.1)

    def step_with_global_optimizer(model, X, y, loss_fn, optimizer):
        return helpers.train_step(model, X, y, loss_fn, elsewhere)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    report = diagnose(step_with_global_optimizer, model, nn.MSELoss(), optimizer, *line)
    assert report.codes == ["no-update"]  # gradients pile up, but none is ever applied: not an accumulation finding
    assert "another optimizer stepped" in report[0].cause


# The loss's target is not the y passed in --------------------------------------------------------


def step_shuffled_labels(model, X, y, loss_fn, optimizer):
    return helpers.train_step(model, X, y[torch.randperm(len(y))], loss_fn, optimizer)


def step_against_inputs(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), X)  # X, not y: the same shape on the line
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_labels_shuffled_inside_the_step(kind):
    report = doctor(step_shuffled_labels, kind)
    assert report.codes == ["wrong-target"] and "another order" in report[0].seen


def test_predictions_compared_with_the_inputs():
    report = doctor(step_against_inputs, "line")
    assert report.codes == ["wrong-target"] and "input X" in report[0].seen and "loss_fn(y_pred, X)" in report[0].cause


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_a_target_from_elsewhere(kind):
    _, _, _, X_other, y_other = patient(kind)
    y_other = y_other.flip(0) + 1 if kind == "line" else (y_other + 3) % 10  # another batch's targets

    def step_global_targets(model, X, y, loss_fn, optimizer):
        return helpers.train_step(model, X, y_other, loss_fn, optimizer)

    report = doctor(step_global_targets, kind)
    assert report.codes == ["wrong-target"] and "was not y" in report[0].seen


def test_targets_that_are_y_in_another_form_are_fine():

    def swapped(model, X, y, loss_fn, optimizer):  # loss_fn(y, y_pred): the same number for MSE
        model.train()
        loss = loss_fn(y, model(X))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def flat(model, X, y, loss_fn, optimizer):  # both sides flattened: [N] against [N]
        model.train()
        loss = loss_fn(model(X).squeeze(1), y.squeeze(1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for step in (swapped, flat, step_shuffled_together):
        model, loss_fn, optimizer, X, y = patient("line")
        assert diagnose(step, model, loss_fn, optimizer, X, y).codes == [], step.__name__
    model, loss_fn, optimizer, X, _ = patient("line")
    assert diagnose(step_against_inputs, model, loss_fn, optimizer, X, X).codes == []  # an autoencoder: y is X


# Three kinds of missing gradient, each with its own cause -----------------------------------------


class Detached(nn.Module):
    """A model whose forward cuts its output from the graph (optionally making it require grad again)."""

    def __init__(self, inner: nn.Module, again: bool = False) -> None:
        super().__init__()
        self.inner, self.again = inner, again

    def forward(self, x):
        out = self.inner(x).detach()
        return out.requires_grad_() if self.again else out


def step_times_zero(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y) * 0  # a constant loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_cleared_keeping_zeros(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.zero_grad(set_to_none=False)
    optimizer.step()
    return loss.item()


def inner_model(kind: str) -> nn.Module:
    torch.manual_seed(42)
    return helpers.LinearRegressionModel() if kind == "line" else DigitCNN()


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_gradients_all_zero_from_a_constant_loss(kind, opt):
    report = doctor(step_times_zero, kind, opt=opt)
    assert report.codes == ["zero-gradients"] and "multiplied by 0" in report[0].cause
    assert "zero_grad" not in report[0].cause


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("again, words", [(False, "forward returns an output cut from the graph"),
                                          (True, "reached the model's output but none of its layers")])
def test_gradients_never_reach_a_model_whose_forward_detaches(kind, again, words):
    report = doctor(helpers.train_step, kind, model=Detached(inner_model(kind), again))
    assert report.codes == ["no-graph"] and words in report[0].cause and "zero_grad" not in report[0].cause


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize(
    "step, what", [(step_zero_grad_after_backward, "None"), (step_cleared_keeping_zeros, "all zeros")]
)
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_gradients_cleared_before_the_step(kind, step, what, opt):
    report = doctor(step, kind, opt=opt)
    assert report.codes == ["grads-cleared"] and what in report[0].seen and "zero_grad in the wrong" in report[0].cause


def test_frozen_says_whether_a_layer_was_cut_off_or_got_zero_gradients():
    class CutFeatures(DigitCNN):
        def forward(self, x):
            return self.classifier(self.features(x).detach())  # features never learn

    class Muted(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(1, 1), nn.Linear(1, 1)

        def forward(self, x):
            return self.a(x) + 0 * self.b(x)

    torch.manual_seed(42)
    report = doctor(helpers.train_step, "cnn", model=CutFeatures())
    assert report.codes == ["frozen"] and "features.0.weight" in report[0].cause
    assert "although their layer ran" in report[0].cause and ".detach()" in report[0].fix
    report = doctor(helpers.train_step, "line", model=Muted())
    assert report.codes == ["frozen"] and "b.weight" in report[0].cause and "were all 0" in report[0].cause


# The caller's objects, again, for the new bugs -----------------------------------------------------


@pytest.mark.parametrize(
    "step", [step_new_adam, step_twice, step_shuffled_labels, step_times_zero, step_cleared_keeping_zeros]
)
def test_the_callers_objects_stay_untouched_by_the_new_bugs(step):
    model, loss_fn, optimizer, X, y = patient("cnn", opt="adam")
    helpers.train_step(model, X, y, loss_fn, optimizer)  # a state and gradients to keep
    state = {k: v.clone() for k, v in model.state_dict().items()}
    moments = {k: {n: t.clone() for n, t in s.items()} for k, s in optimizer.state_dict()["state"].items()}
    grads = [p.grad.clone() for p in model.parameters()]
    hooks = dict(torch_optimizer._global_optimizer_pre_hooks)
    torch.manual_seed(7)
    diagnose(step, model, loss_fn, optimizer, X, y)
    after_rng = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after_rng, torch.rand(3))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    new = optimizer.state_dict()["state"]
    assert all(torch.equal(t, new[k][n]) for k, s in moments.items() for n, t in s.items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    assert dict(torch_optimizer._global_optimizer_pre_hooks) == hooks  # diagnose's watch on every step() is gone


def test_every_code_is_listed_and_found_by_some_test():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert all(f'"{code}"' in source for code in CODES), [c for c in CODES if f'"{code}"' not in source]


def test_a_converged_model_is_clean_but_a_tiny_learning_rate_is_not():
    model, loss_fn, optimizer, X, y = patient("line", lr=0.5)
    for _ in range(400):  # the clean line: MSE reaches float32's floor
        helpers.train_step(model, X, y, loss_fn, optimizer)
    report = diagnose(helpers.train_step, model, loss_fn, optimizer, X, y)
    assert report.codes == [] and max(report.losses) < 1e-9
    report = doctor(helpers.train_step, "line", lr=1e-12)
    assert report.codes == ["no-update"] and "too small" in report[0].cause


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_grads_accumulate_is_found_through_gradient_clipping(kind):
    def step_clipped_without_zero_grad(model, X, y, loss_fn, optimizer):
        model.train()
        loss = loss_fn(model(X), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)  # scales the sum, old gradient included
        optimizer.step()
        return loss.item()

    report = doctor(step_clipped_without_zero_grad, kind, opt="adam")
    assert report.codes == ["grads-accumulate"], [str(f) for f in report]


# A learner's read of notebook 10: misdiagnoses and misses, each now its own finding -------------------


def step_clip_norm_zero(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.0)  # the right order; a threshold of 0
    optimizer.step()
    return loss.item()


def step_clip_value_zero(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 0.0)
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("step, words", [(step_clip_norm_zero, "max_norm=0.0"), (step_clip_value_zero, "clip_value=0.0")])
def test_clipping_to_zero_is_not_blamed_on_zero_grad(kind, opt, step, words):
    report = doctor(step, kind, opt=opt)
    assert report.codes == ["grads-zeroed"], [str(f) for f in report]
    finding = report[0]
    assert "all zeros" in finding.seen and "no zero_grad() ran in between" in finding.seen and words in finding.seen
    assert words in finding.cause and "zero_grad" not in finding.cause and "threshold above 0" in finding.fix


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_gradients_zeroed_by_hand_are_grads_zeroed_and_a_misplaced_zero_grad_stays_grads_cleared(kind):
    def step_grads_times_zero(model, X, y, loss_fn, optimizer):
        model.train()
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.grad *= 0
        optimizer.step()
        return loss.item()

    report = doctor(step_grads_times_zero, kind)
    assert report.codes == ["grads-zeroed"] and "p.grad.zero_()" in report[0].cause
    report = doctor(step_cleared_keeping_zeros, kind)
    assert report.codes == ["grads-cleared"] and "after a zero_grad() call" in report[0].seen


def step_swapped_arguments(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(y, model(X))  # the target first
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def test_swapped_arguments_of_cross_entropy_are_named_not_the_labels_dtype():
    report = doctor(step_swapped_arguments, "cnn")
    assert report.codes == ["swapped-arguments"], [str(f) for f in report]
    finding = report[0]
    assert "The step raised NotImplementedError" in finding.seen and "'Long'" in finding.seen
    assert "torch.int64 tensor of shape [64]" in finding.seen and "loss_fn(y, y_pred)" in finding.cause
    assert "y.long()" not in finding.fix and "loss_fn(y_pred, y)" in finding.fix


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_swapped_arguments_with_float_targets_are_named(kind):
    """Cross-entropy against one-hot rows on the digits, BCE with logits on the line (points above 0.5 or not)."""
    def step_swapped_float_targets(model, X, y, loss_fn, optimizer):
        model.train()
        target = F.one_hot(y, 10).float() if kind == "cnn" else (X > 0.5).float()
        loss = loss_fn(target, model(X))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    loss_fn = nn.CrossEntropyLoss() if kind == "cnn" else nn.BCEWithLogitsLoss()
    model, _, optimizer, X, y = patient(kind)
    report = diagnose(step_swapped_float_targets, model, loss_fn, optimizer, X, y)
    assert report.codes == ["swapped-arguments"], [str(f) for f in report]
    assert type(loss_fn).__name__ in report[0].seen and "(the model's output?)" in report[0].seen
    if kind == "cnn":
        assert min(report.losses) < 0  # a cross-entropy below 0, explained by the swap: no second finding


def test_a_cross_entropy_below_zero_is_found_even_when_the_step_bypasses_loss_fn():
    def step_own_swapped_cross_entropy(model, X, y, loss_fn, optimizer):
        model.train()
        loss = F.cross_entropy(F.one_hot(y, 10).float(), model(X))  # loss_fn unused: diagnose sees no call
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    report = doctor(step_own_swapped_cross_entropy, "cnn")
    assert report.codes == ["loss-below-zero"], [str(f) for f in report]
    assert "CrossEntropyLoss" in report[0].seen and "never below 0" in report[0].seen
    assert "loss_fn(y, y_pred)" in report[0].cause and min(report.losses) < 0


def test_a_hand_written_loss_that_goes_negative_is_found_on_the_line():
    def step_mean_difference(model, X, y, loss_fn, optimizer):
        model.train()
        loss = (model(X) - y).mean()  # abs() or a square forgotten
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    report = doctor(step_mean_difference, "line")
    assert report.codes == ["loss-below-zero"] and "without abs()" in report[0].cause


def step_penalty_only(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    penalty = sum(p.pow(2).sum() for p in model.parameters())
    loss = loss * 0.0 + 1e-2 * penalty  # the data term weighted by 0
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_backward_on_the_penalty(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    penalty = 1e-2 * sum(p.pow(2).sum() for p in model.parameters())
    optimizer.zero_grad()
    penalty.backward()  # the data loss is never backpropagated
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize("kind", ["line", "cnn"])
@pytest.mark.parametrize("step, words", [(step_penalty_only, "multiplied by 0"),
                                         (step_backward_on_the_penalty, "backward() never reached it")])
def test_a_loss_that_only_a_penalty_trains_is_found(kind, step, words):
    report = doctor(step, kind, opt="adam")
    assert report.codes == ["loss-ignored"], [str(f) for f in report]
    assert words in report[0].seen and "nothing from the data" in report[0].cause


def test_a_penalty_added_to_the_loss_is_clean():
    def step_with_weight_decay_by_hand(model, X, y, loss_fn, optimizer):
        model.train()
        loss = loss_fn(model(X), y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for kind in ("line", "cnn"):
        assert doctor(step_with_weight_decay_by_hand, kind).codes == [], kind


@pytest.mark.parametrize("kind, opt, lr", [("line", "sgd", 1e-6), ("line", "adam", 1e-7), ("cnn", "sgd", 1e-6),
                                           ("cnn", "adam", 1e-7)])
def test_a_learning_rate_far_too_low_is_named(kind, opt, lr):
    report = doctor(helpers.train_step, kind, opt=opt, lr=lr)
    assert report.codes == ["lr-too-low"], [str(f) for f in report]
    assert f"lr={lr:g}" in report[0].cause and "1,000 steps" in report[0].seen


@pytest.mark.parametrize("kind, opt, lr", [("line", "sgd", 1e-3), ("line", "adam", 1e-4), ("cnn", "sgd", 1e-2),
                                           ("cnn", "adam", 1e-4)])
def test_slow_but_sensible_learning_rates_are_clean(kind, opt, lr):
    assert doctor(helpers.train_step, kind, opt=opt, lr=lr).codes == []


def test_a_model_at_its_minimum_with_noisy_data_is_not_called_too_slow():
    model, loss_fn, optimizer, X, y = patient("line", lr=0.5)
    y = y + 0.05 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))  # a floor above 0
    for _ in range(300):
        helpers.train_step(model, X, y, loss_fn, optimizer)
    report = diagnose(helpers.train_step, model, loss_fn, optimizer, X, y)
    assert report.codes == [] and min(report.losses) > 1e-4


class AccumulatingStep:
    """Gradient accumulation on purpose: optimizer.step() and zero_grad() every second call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model, X, y, loss_fn, optimizer):
        self.calls += 1
        model.train()
        loss = loss_fn(model(X), y) / 2
        loss.backward()
        if self.calls % 2 == 0:
            optimizer.step()
            optimizer.zero_grad()
        return 2 * loss.item()


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_deliberate_gradient_accumulation_is_clean_and_the_accumulation_finding_mentions_it(kind):
    assert doctor(AccumulatingStep(), kind).codes == []
    report = doctor(step_without_zero_grad, kind)
    assert report.codes == ["grads-accumulate"] and "on purpose" in report[0].fix


@pytest.mark.parametrize("kind", ["line", "cnn"])
def test_inputs_reordered_without_their_labels_blame_X(kind):
    def step_shuffled_inputs(model, X, y, loss_fn, optimizer):
        return helpers.train_step(model, X[torch.randperm(len(X))], y, loss_fn, optimizer)

    report = doctor(step_shuffled_inputs, kind)
    assert report.codes == ["wrong-target"] and "rows of X in another order" in report[0].seen
    assert "X was shuffled" in report[0].cause


def test_a_dtype_error_is_quoted_word_for_word():
    model, loss_fn, optimizer, X, y = patient("cnn")
    report = diagnose(helpers.train_step, model, loss_fn, optimizer, X.double(), y)
    assert report.codes == ["dtype-mismatch"]
    assert report[0].seen.startswith("The step raised RuntimeError: Input type (double) and bias type (float)")
    assert "Layer 'features.0' (Conv2d) got a torch.float64 input" in report[0].seen


def test_eval_mode_names_the_layers_plainly():
    model, loss_fn, optimizer, X, y = patient("cnn")
    report = diagnose(step_in_eval_mode, model, loss_fn, optimizer, X, y)
    assert report.codes == ["eval-mode"]
    assert "model.training was False" in report[0].seen and "layer classifier.0 (Dropout)" in report[0].seen
    assert "the model)" not in report[0].seen and "'" not in report[0].seen


def test_a_report_shows_as_its_text_in_plain_text_outputs():
    from IPython.lib.pretty import pretty

    report = doctor(step_without_zero_grad, "line")
    assert pretty(report) == str(report) and f"{report.losses[0]:.4g}" in pretty(report)


@pytest.mark.parametrize("step", [step_clip_norm_zero, step_swapped_arguments, step_penalty_only])
def test_the_callers_objects_and_torchs_functions_stay_untouched_by_the_readers_bugs(step):
    clip_norm, clip_value, backward = nn.utils.clip_grad_norm_, nn.utils.clip_grad_value_, torch.Tensor.backward
    model, loss_fn, optimizer, X, y = patient("cnn", opt="adam")
    helpers.train_step(model, X, y, loss_fn, optimizer)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    zero_grad = optimizer.zero_grad
    diagnose(step, model, loss_fn, optimizer, X, y)
    assert nn.utils.clip_grad_norm_ is clip_norm and nn.utils.clip_grad_value_ is clip_value
    assert torch.Tensor.backward is backward and optimizer.zero_grad == zero_grad and "zero_grad" not in vars(model)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
