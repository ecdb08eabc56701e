"""helpers.exercises.ex06 (notebook 06): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import dataclasses

import torch

from _exercises import ExerciseModule, verdict
from helpers.exercises import ex06

BUNDLE = 'torch.save({"model": model.state_dict(), "config": dataclasses.asdict(config)}, path)'
LOAD_OPT = '    optimizer.load_state_dict(checkpoint["optimizer"])\n'
LOAD_SCHED = '    scheduler.load_state_dict(checkpoint["scheduler"])\n'
PLAIN = 'torch.save({"model": model.state_dict(), "config": config}, path)'
LAST_EPOCH_ONLY = (
    "def save_run(path, model, optimizer, scheduler, epoch):\n"
    "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
    "                'last_epoch': scheduler.last_epoch, 'epoch': epoch}, path)\n\n\n"
    "def resume_run(path, model, optimizer, scheduler):\n"
    "    checkpoint = torch.load(path, weights_only=True)\n"
    "    model.load_state_dict(checkpoint['model'])\n"
    "    optimizer.load_state_dict(checkpoint['optimizer'])\n"
    "    scheduler.last_epoch = checkpoint['last_epoch']\n"
    "    return checkpoint['epoch']\n"
)
# the learner's read: allow the dataclass for the session, save it as it is, turn it into a dict when loading
ALLOWED = (
    "def save_bundle(path, model, config):\n"
    "    torch.serialization.add_safe_globals([type(config)])\n"
    "    torch.save({'model': model.state_dict(), 'config': config}, path)\n\n\n"
    "def load_bundle(path, model):\n"
    "    bundle = torch.load(path, weights_only=True)\n"
    "    model.load_state_dict(bundle['model'])\n"
    "    return dataclasses.asdict(bundle['config'])\n"
)


class TestEx06(ExerciseModule):
    module = "ex06"
    names = {"dataclasses": dataclasses}  # what the notebook defines before its exercises, besides torch, nn, helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", (BUNDLE, PLAIN), "pickles a RunSettings object"),
        ("q1", ALLOWED, "allow-list lives only in this session"),
        ("q1", ALLOWED.replace("torch.serialization.add_safe_globals([type(config)])",
                               "torch.serialization.add_safe_globals([type(config), type(model)])")
                      .replace("model.state_dict()", "model"), "pickles a"),
        ("q1", (BUNDLE, 'torch.save({"model": model, "config": dataclasses.asdict(config)}, path)'),
         "not the model object"),
        ("q1", ("torch.load(path, weights_only=True)", "torch.load(path, weights_only=False)"), "weights_only=False"),
        ("q1", ("torch.load(path, weights_only=True)", "torch.load(path)"), "without weights_only"),
        ("q1", ('    model.load_state_dict(bundle["model"])\n', ""), "predicts differently"),
        ("q1", ('return bundle["config"]', "return bundle"), "return the settings"),
        ("q2", ('    model.load_state_dict(checkpoint["model"])\n', ""), "not only the optimizer's"),
        ("q2", (LOAD_OPT, ""), "no momentum buffers"),
        ("q2", ('    scheduler.load_state_dict(checkpoint["scheduler"])\n', ""), "halves the rate at the wrong"),
        ("q2", ('"scheduler": scheduler.state_dict()', '"scheduler": scheduler'), "pickles a StepLR object"),
        ("q2", ('return checkpoint["epoch"]', "return checkpoint"), "returned a dict"),
        ("q2", ("weights_only=True", "weights_only=False"), "weights_only=False"),
        # the learner's read: scheduler loaded, then stepped once more
        ("q2", (LOAD_SCHED, LOAD_SCHED + "    scheduler.step()\n"), "stepped 1 more time."),
        ("q2", (LOAD_SCHED, LOAD_SCHED + "    helpers.train_step(model, *helpers.make_line_data(), nn.L1Loss(), "
                             "optimizer)\n"), "resume_run changed them after loading"),
        ("q2", ('return checkpoint["epoch"]', 'return checkpoint["epoch"] + 1'), "returned 11"),
        # only the epoch count carried: StepLR's rate survives in the optimizer, but the scheduler's own state does not
        ("q2", LAST_EPOCH_ONLY, "get_last_lr() reports"),
    ]


def _allowed_classes() -> list:
    return sorted(map(str, torch.serialization.get_safe_globals()))


def test_an_allow_list_answer_leaves_no_allow_list_and_does_not_help_the_next_answer():
    """The learner's read: once the allow-list answer ran, the plain answer was judged Correct (the list lasts the
    session). Each is refused, in a fresh namespace and one after the other, and the session's list is unchanged."""
    before = _allowed_classes()
    plain = ex06.q1.solution_code.replace(BUNDLE, PLAIN)
    for code in (ALLOWED, plain, ALLOWED, plain):
        result = verdict("ex06", "q1", code, {"dataclasses": dataclasses})
        assert result.state == "incorrect" and "pickles a RunSettings object" in result.message, result
        assert _allowed_classes() == before


def test_a_session_that_allowed_the_class_does_not_make_a_pickled_dataclass_right():
    """As if notebook 06's own add_safe_globals cell (or a learner's) had allowed the check's class: still refused,
    and the session keeps what it allowed."""
    torch.serialization.add_safe_globals([ex06.RunSettings])
    try:
        plain = ex06.q1.solution_code.replace(BUNDLE, PLAIN)
        result = verdict("ex06", "q1", plain, {"dataclasses": dataclasses})
        assert result.state == "incorrect" and "pickles a RunSettings object" in result.message, result
        assert "allow-list lives only" not in result.message  # the learner's code allowed nothing
        assert ex06.RunSettings in torch.serialization.get_safe_globals()
        assert verdict("ex06", "q1", ex06.q1.solution_code, {"dataclasses": dataclasses}).state == "correct"
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals([g for g in torch.serialization.get_safe_globals()
                                              if g is not ex06.RunSettings])
