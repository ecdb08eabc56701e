"""helpers.exercises.ex12 (notebook 12): starting code, solutions, plausible wrong answers refused with a message, and
other right answers accepted."""

from __future__ import annotations

import pytest
import torch
from _exercises import ExerciseModule, apply_edit, exercise_module, verdict
from ignite.engine import Events

# q1 ----------------------------------------------------------------------------------------------------------
EVAL_LINE = "        model.eval()                  # every call: training steps switch it back to train()\n"
NO_GRAD = "with torch.inference_mode():  # or torch.no_grad(): no gradients to track"
FORWARD = NO_GRAD + "\n            y_pred = model(X)"

EVAL_ONCE_OUTSIDE = '''def build_eval_step(model):
    model.eval()
    def step(engine, batch):
        X, y = batch
        with torch.no_grad():
            y_pred = model(X)
        return y_pred, y
    return step'''


def eval_only(loop: str) -> tuple[str, str]:
    """model.eval() replaced by putting only the dropout layers that `loop` finds into eval mode."""
    return EVAL_LINE, (f"        for m in {loop}:\n            if isinstance(m, nn.Dropout):\n"
                       "                m.eval()\n")


# q2 ----------------------------------------------------------------------------------------------------------
Q2_TEST = "not math.isfinite(engine.state.output)"

LEAKING_FLAG = '''import math
_seen_bad = []

def attach_stop_on_bad_loss(trainer):
    @trainer.on(Events.ITERATION_COMPLETED)
    def stop_on_bad_loss(engine):
        if not math.isfinite(engine.state.output):
            _seen_bad.append(engine.state.iteration)
        if _seen_bad:
            engine.terminate()'''

AFTER_A_PREVIOUS_LOSS = '''import math

def attach_stop_on_bad_loss(trainer):
    previous = {}
    @trainer.on(Events.ITERATION_COMPLETED)
    def stop_on_bad_loss(engine):
        loss = engine.state.output
        if "loss" in previous and not math.isfinite(loss):
            engine.terminate()
        previous["loss"] = loss'''

TWO_BAD_IN_A_ROW = '''import math

def attach_stop_on_bad_loss(trainer):
    previous = [0.0]
    @trainer.on(Events.ITERATION_COMPLETED)
    def stop_on_bad_loss(engine):
        if not math.isfinite(engine.state.output) and not math.isfinite(previous[0]):
            engine.terminate()
        previous[0] = engine.state.output'''

# q3 ----------------------------------------------------------------------------------------------------------
COPY = "{name: t.clone() for name, t in model.state_dict().items()}"

# a handler that runs after every batch of the evaluator and takes 0 while no accuracy exists yet: it reads each
# validation's accuracy during the next one (no KeyError), so it keeps the epoch after the best
STALE_OLD = 'Events.COMPLETED)\n    def keep_if_best(engine):\n        accuracy = engine.state.metrics["accuracy"]'
STALE_NEW = ('Events.ITERATION_COMPLETED)\n    def keep_if_best(engine):\n'
             '        accuracy = engine.state.metrics.get("accuracy", 0.0)')

COUNTS_VALIDATIONS = ('    @evaluator.on(Events.COMPLETED)\n    def keep_if_best(engine):\n',
                      '    runs = [0]\n\n    @evaluator.on(Events.COMPLETED)\n    def keep_if_best(engine):\n'
                      '        runs[0] += 1\n')

LEAKING_BEST = '''_best_accuracy = [float("-inf")]

def attach_keep_best(trainer, evaluator, model, best):
    best["accuracy"] = float("-inf")

    @evaluator.on(Events.COMPLETED)
    def keep_if_best(engine):
        accuracy = engine.state.metrics["accuracy"]
        if accuracy > _best_accuracy[0]:
            _best_accuracy[0] = accuracy
            best["accuracy"] = accuracy
            best["epoch"] = trainer.state.epoch
            best["state_dict"] = {k: v.clone() for k, v in model.state_dict().items()}'''

ON_THE_TRAINER = '''def attach_keep_best(trainer, evaluator, model, best):
    best["accuracy"] = float("-inf")

    @trainer.on(Events.EPOCH_COMPLETED)
    def keep_if_best(engine):
        accuracy = evaluator.state.metrics{read}
        if accuracy > best["accuracy"]:
            best["accuracy"] = accuracy
            best["epoch"] = engine.state.epoch
            best["state_dict"] = {{k: v.clone() for k, v in model.state_dict().items()}}'''

ANOTHER_MODEL = "other = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))\n\n"


def _whole(q: str, *edits: tuple[str, str]) -> str:
    """The solution of `q` with several (old, new) edits, as a whole answer."""
    code = getattr(exercise_module("ex12"), q).solution_code
    for old, new in edits:
        assert old in code, old
        code = code.replace(old, new)
    return code


class TestEx12(ExerciseModule):
    module = "ex12"
    names = {"Events": Events}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", (EVAL_LINE, ""), "BatchNorm1d and Dropout layers in training mode"),
        ("q1", EVAL_ONCE_OUTSIDE, "inside the step, every time"),
        ("q1", (EVAL_LINE, "        model.training = False\n"), "however deeply nested"),
        ("q1", eval_only("model.children()"), "BatchNorm1d and Dropout layers in training mode"),  # nested dropout
        ("q1", eval_only("model.modules()"), "its BatchNorm1d layers in training mode"),
        ("q1", (NO_GRAD, "if True:"), "track gradients"),
        ("q1", (FORWARD, "if True:\n            y_pred = model(X).detach()"), "gradient tracking on"),
        ("q1", (NO_GRAD, "torch.set_grad_enabled(False)\n        if True:"), "left gradient tracking switched off"),
        ("q1", (NO_GRAD, "model.requires_grad_(False)\n        if True:"), "froze the model's parameters"),
        ("q1", (NO_GRAD, "model.requires_grad_(False)\n        " + NO_GRAD), "froze the model's parameters"),
        ("q1", ("return y_pred, y", "return y_pred"), "return the pair"),
        ("q1", ("return y_pred, y", "return y, y_pred"), "predictions first"),
        ("q1", ("return y_pred, y", 'return {"y_pred": y_pred, "y": y}'), "Loss cannot"),
        ("q1", ("return y_pred, y", "return y_pred.argmax(dim=1), y"), "logits per input"),
        ("q1", ("return y_pred, y", "return y_pred.squeeze(), y"), ".squeeze()"),  # a batch of one
        ("q1", ("return y_pred, y", "return y_pred.softmax(dim=1), y"), "probabilities"),
        ("q1", ("return y_pred, y", "return torch.log_softmax(y_pred, dim=1), y"), "log-probabilities"),
        ("q1", ("return y_pred, y", "return y_pred * 2, y"), "every layer was in eval mode"),
        ("q1", ("return y_pred, y", "return y_pred, y.float()"), "return y as it is"),
        ("q2", ("ITERATION_COMPLETED", "EPOCH_COMPLETED"), "end of its epoch"),
        ("q2", ("ITERATION_COMPLETED", "EPOCH_STARTED"), "output was None"),
        ("q2", ("ITERATION_COMPLETED", "ITERATION_STARTED"), "output was None"),
        ("q2", (Q2_TEST, "engine.state.output == float('nan')"), "nan equals nothing"),
        ("q2", (Q2_TEST, "math.isnan(engine.state.output)"), "infinite loss"),
        ("q2", ("engine.terminate()", "engine.terminate_epoch()"), "terminate_epoch"),
        ("q2", ("engine.terminate()", "engine.state.max_epochs = engine.state.epoch"), "max_epochs to 2"),
        ("q2", ("engine.terminate()", "raise RuntimeError('the loss is not finite')"), "ends the run cleanly"),
        ("q2", (Q2_TEST, "math.isfinite(engine.state.output)"), "right way round"),
        ("q2", (Q2_TEST, "engine.state.output > 0"), "a finite number"),
        ("q2", (Q2_TEST, "math.isnan(engine.state.output) or engine.state.output > 1"), "no threshold tells them"),
        ("q2", (Q2_TEST, "engine.state.output != engine.state.output or engine.state.output > 1e3"),
         "where the loss was 1000000.0"),
        ("q2", (Q2_TEST, "math.isnan(engine.state.output) or engine.state.output == math.inf"),
         "the loss was -inf from iteration 7"),
        ("q2", ("Events.ITERATION_COMPLETED", "Events.ITERATION_COMPLETED(event_filter=lambda e, it: it > 1)"),
         "the very first step"),
        ("q2", (Q2_TEST, "engine.state.iteration > 1 and " + Q2_TEST), "the very first step"),
        ("q2", AFTER_A_PREVIOUS_LOSS, "the very first step"),
        ("q2", ("Events.ITERATION_COMPLETED", "Events.ITERATION_COMPLETED(every=10)"), "4 step(s) late"),
        ("q2", TWO_BAD_IN_A_ROW, "1 step(s) late"),
        ("q2", LEAKING_FLAG, "keeps something from an earlier run"),
        ("q3", ("accuracy > best", "accuracy >= best"), "a tie is not a new best"),
        ("q3", (COPY, "model.state_dict()"), "Keep a copy"),
        ("q3", (COPY, "dict(model.state_dict())"), "shares its memory"),
        ("q3", (COPY, "{k: v.float() for k, v in model.state_dict().items()}"), "shares its memory"),
        ("q3", (COPY, "{k: v.numpy() for k, v in model.state_dict().items()}"), "NumPy"),
        ("q3", (COPY, "{k: p.detach().clone() for k, p in model.named_parameters()}"), "parameters only"),
        ("q3", (COPY, "[p.detach().clone() for p in model.parameters()]"), "is list"),
        ("q3", (COPY, "model"), "a dict of its tensors"),
        ("q3", _whole("q3", ("def attach_keep_best", ANOTHER_MODEL + "def attach_keep_best"),
                      ("model.state_dict().items()", "other.state_dict().items()")), "another model's weights"),
        ("q3", ("trainer.state.epoch", "engine.state.epoch"), "evaluator's own count"),
        ("q3", ("trainer.state.epoch", "engine.state.iteration"), "evaluator's own count"),
        ("q3", ("trainer.state.epoch", "trainer.state.iteration"), "that is trainer.state.iteration"),
        ("q3", ("trainer.state.epoch", "trainer.state.epoch + 1"), "without + 1"),
        ("q3", ("trainer.state.epoch", "trainer.state.epoch - 1"), "without - 1"),
        ("q3", _whole("q3", COUNTS_VALIDATIONS, ('best["epoch"] = trainer.state.epoch', 'best["epoch"] = runs[0]')),
         "the number of validation runs"),
        ("q3", ("accuracy > best[\"accuracy\"]", "True"), "the last epoch"),
        ("q3", ("accuracy > best", "accuracy < best"), "never kept anything"),
        ("q3", ("Events.COMPLETED", "Events.ITERATION_COMPLETED"), "before the evaluator had computed it"),
        ("q3", ("Events.COMPLETED", "Events.STARTED"), "before the evaluator had computed it"),
        ("q3", (STALE_OLD, STALE_NEW), "one validation late"),
        ("q3", ('best["accuracy"] = accuracy', "pass"), "still -inf"),
        ("q3", ('best["accuracy"] = float("-inf")', 'best["accuracy"] = 0.0'), "started at 0"),
        ("q3", LEAKING_BEST, "outside `best`"),
        ("q3", ON_THE_TRAINER.format(read='["accuracy"]'), "attached to the trainer"),
        ("q3", ON_THE_TRAINER.format(read='.get("accuracy", float("-inf"))'), "attached to the trainer"),
    ]


RIGHT = [
    ("q1", (EVAL_LINE, "        model.train(False)\n")),
    ("q1", (EVAL_LINE, "        model.apply(lambda m: m.train(False))\n")),
    ("q1", (NO_GRAD, "with torch.no_grad():")),
    ("q1", ("return y_pred, y", "model.train()\n        return [y_pred, y]")),  # back in training mode afterwards
    ("q1", ("return y_pred, y", 'return {"y_pred": y_pred, "y": y, "criterion_kwargs": {}}')),  # what Loss reads
    ("q1", "from ignite.engine import supervised_evaluation_step\n\n\n"
           "def build_eval_step(model):\n    return supervised_evaluation_step(model)"),
    ("q2", (Q2_TEST, "not torch.isfinite(torch.as_tensor(engine.state.output))")),  # float32: the largest is finite
    ("q2", "from ignite.handlers import TerminateOnNan\n\n\ndef attach_stop_on_bad_loss(trainer):\n"
           "    trainer.add_event_handler(Events.ITERATION_COMPLETED, TerminateOnNan())"),
    ("q2", (Q2_TEST, "engine.state.output != engine.state.output or abs(engine.state.output) == math.inf")),
    ("q2", ("Events.ITERATION_COMPLETED", "Events.ITERATION_COMPLETED(every=1)")),
    ("q3", (COPY, "copy.deepcopy(model).state_dict()")),  # the stand-in model can be deep-copied
    ("q3", (COPY, "copy.deepcopy(model.state_dict())")),
    ("q3", (COPY, "{k: v + 0 for k, v in model.state_dict().items()}")),
    ("q3", ("Events.COMPLETED", "Events.EPOCH_COMPLETED")),  # one epoch per validation run
    ("q3", ("trainer.state.epoch", "global_step_from_engine(trainer)(engine, Events.COMPLETED)")),
]
PREAMBLE = {"q3": "import copy\nfrom ignite.handlers import global_step_from_engine\n\n"}


@pytest.mark.parametrize("q, edit", RIGHT, ids=[f"{q}-{i}" for i, (q, _) in enumerate(RIGHT)])
def test_other_right_answers_are_correct(q, edit):
    result = verdict("ex12", q, PREAMBLE.get(q, "") + apply_edit("ex12", q, edit), TestEx12.names)
    assert result.state == "correct", result


def test_a_check_leaves_gradient_tracking_on():
    verdict("ex12", "q1", apply_edit("ex12", "q1", (NO_GRAD, "torch.set_grad_enabled(False)\n        if True:")),
            TestEx12.names)
    assert torch.is_grad_enabled()
