"""helpers.exercises.ex06 (notebook 06): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import dataclasses

from _exercises import ExerciseModule

BUNDLE = 'torch.save({"model": model.state_dict(), "config": dataclasses.asdict(config)}, path)'
LOAD_OPT = '    optimizer.load_state_dict(checkpoint["optimizer"])\n'


class TestEx06(ExerciseModule):
    module = "ex06"
    names = {"dataclasses": dataclasses}  # what the notebook defines before its exercises, besides torch, nn, helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", (BUNDLE, 'torch.save({"model": model.state_dict(), "config": config}, path)'),
         "pickles a RunSettings object"),
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
    ]
