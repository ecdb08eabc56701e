"""helpers.exercises.ex06 (notebook 06): starting code, solutions, right answers written differently, and plausible
wrong answers refused with a message."""

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

# a bundle (or checkpoint) written whole, then loaded from what save_bundle kept in memory
SAVE_BUNDLE = ("def save_bundle(path, model, config):\n"
               "    torch.save({'model': model.state_dict(), 'config': dataclasses.asdict(config)}, path)\n")
LOAD_FROM_FILE = ("def load_bundle(path, model):\n"
                  "    bundle = torch.load(path, weights_only=True)\n"
                  "    model.load_state_dict(bundle['model'])\n"
                  "    return bundle['config']\n")
CACHED = ("_CACHE = {}\n"
          "def save_bundle(path, model, config):\n"
          "    _CACHE['model'] = {k: v.clone() for k, v in model.state_dict().items()}\n"
          "    _CACHE['config'] = dataclasses.asdict(config)\n"
          "    torch.save({'model': model.state_dict(), 'config': dataclasses.asdict(config)}, path)\n"
          "def load_bundle(path, model):\n"
          "    torch.load(path, weights_only=True)\n"
          "    model.load_state_dict(_CACHE['model'])\n"
          "    return _CACHE['config']\n")
SAVE_RUN = ("def save_run(path, model, optimizer, scheduler, epoch):\n"
            "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
            "                'scheduler': scheduler.state_dict(), 'epoch': epoch}, path)\n")
NO_EPOCH = ("def save_run(path, model, optimizer, scheduler, epoch):\n"
            "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
            "                'scheduler': scheduler.state_dict()}, path)\n")


def resume(last: str = "    scheduler.load_state_dict(checkpoint['scheduler'])\n    return checkpoint['epoch']\n",
           source: str = "torch.load(path, weights_only=True)") -> str:
    """A resume_run that loads the model and the optimizer from `source`, then runs `last`."""
    return ("def resume_run(path, model, optimizer, scheduler):\n"
            f"    checkpoint = {source}\n"
            "    model.load_state_dict(checkpoint['model'])\n"
            "    optimizer.load_state_dict(checkpoint['optimizer'])\n" + last)



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
        ("q2", ('    scheduler.load_state_dict(checkpoint["scheduler"])\n', ""), "though the file holds the scheduler"),
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
        # the red team's read: everything in one file, read by the check, saved models changed before loading
        ("q1", SAVE_BUNDLE.replace("torch.save({'model': model.state_dict(), 'config': dataclasses.asdict(config)}, "
                                   "path)", "torch.save(model.state_dict(), str(path) + '.weights')\n"
                                            "    torch.save(dataclasses.asdict(config), path)")
         + "def load_bundle(path, model):\n"
           "    model.load_state_dict(torch.load(str(path) + '.weights', weights_only=True))\n"
           "    return torch.load(path, weights_only=True)\n", "wrote 2 files (bundle.pt, bundle.pt.weights)"),
        ("q1", "import json\nfrom pathlib import Path\n"
               "def save_bundle(path, model, config):\n"
               "    torch.save(model.state_dict(), path)\n"
               "    Path(str(path) + '.json').write_text(json.dumps(dataclasses.asdict(config)))\n"
               "def load_bundle(path, model):\n"
               "    model.load_state_dict(torch.load(path, weights_only=True))\n"
               "    return json.loads(Path(str(path) + '.json').read_text())\n", "wrote 2 files"),
        ("q1", "_SETTINGS = {}\n"
               "def save_bundle(path, model, config):\n"
               "    _SETTINGS['last'] = dataclasses.asdict(config)\n"
               "    torch.save(model.state_dict(), path)\n"
               "def load_bundle(path, model):\n"
               "    model.load_state_dict(torch.load(path, weights_only=True))\n"
               "    return _SETTINGS['last']\n", "the file save_bundle wrote does not hold the settings"),
        ("q1", "_WEIGHTS = {}\n"
               "def save_bundle(path, model, config):\n"
               "    _WEIGHTS['last'] = {k: v.clone() for k, v in model.state_dict().items()}\n"
               "    torch.save(dataclasses.asdict(config), path)\n"
               "def load_bundle(path, model):\n"
               "    model.load_state_dict(_WEIGHTS['last'])\n"
               "    return torch.load(path, weights_only=True)\n", "holds no tensors, so not the model's weights"),
        ("q1", CACHED, "the weights of another bundle (the one saved last)"),
        ("q1", CACHED.replace("{k: v.clone() for k, v in model.state_dict().items()}", "model.state_dict()")
                     .replace("_CACHE['model'] =", "_CACHE[str(path)] =")
                     .replace("_CACHE['model'])", "_CACHE[str(path)])"), "the saved model has *now*"),
        ("q1", "model = helpers.LinearRegressionModel()  # a model of the notebook's\n"
               + SAVE_BUNDLE.replace("(path, model, config)", "(path, net, config)") + LOAD_FROM_FILE,
         "the weights of another model"),
        ("q1", (BUNDLE, 'torch.save({"model": {k: v.half() for k, v in model.state_dict().items()}, '
                        '"config": dataclasses.asdict(config)}, path)'), "rounded from the model's torch.float32"),
        ("q1", SAVE_BUNDLE.replace("model.state_dict()", "{'net.' + k: v for k, v in model.state_dict()"
                                                                 ".items()}")
         + LOAD_FROM_FILE.replace("bundle['model'])", "bundle['model'], strict=False)"),
         "strict=False hid the mismatch"),
        ("q1", SAVE_BUNDLE + LOAD_FROM_FILE.replace("    model.load_state_dict(", "    model = type(model)()\n"
                                                    "    model.load_state_dict("), "never called load_state_dict"),
        ("q1", SAVE_BUNDLE.replace("model.state_dict()", "[p.detach() for p in model.parameters()]")
         + LOAD_FROM_FILE.replace("    model.load_state_dict(bundle['model'])\n",
                                  "    for p, q in zip(model.parameters(), bundle['model']):\n        p = q\n"),
         "assigning p = q in a loop"),
        ("q2", NO_EPOCH + resume("    scheduler.load_state_dict(checkpoint['scheduler'])\n    return 10\n"),
         "saved with epoch=3, and resume_run returned 10"),
        ("q2", "EPOCHS = 20\n" + NO_EPOCH
         + resume("    scheduler.load_state_dict(checkpoint['scheduler'])\n    return EPOCHS // 2\n"),
         "resume_run returned 10: save the epoch"),
        ("q2", SAVE_RUN + resume("    scheduler.load_state_dict(checkpoint['scheduler'])\n"
                                 "    return scheduler.last_epoch\n"), "the scheduler's count (last_epoch)"),
        ("q2", NO_EPOCH + resume("    scheduler.load_state_dict(checkpoint['scheduler'])\n"
                                 "    return checkpoint['scheduler']['last_epoch']\n"), "not the epoch"),
        ("q2", "_SCHED = {}\n"
               "def save_run(path, model, optimizer, scheduler, epoch):\n"
               "    _SCHED['state'] = dict(scheduler.state_dict())\n"
               "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'epoch': epoch}, "
               "path)\n"
               + resume("    scheduler.load_state_dict(_SCHED['state'])\n    return checkpoint['epoch']\n"),
         "it came from memory"),
        ("q2", "_CKPT = {}\n"
               "def save_run(path, model, optimizer, scheduler, epoch):\n"
               "    _CKPT.update(model=model.state_dict(), optimizer=optimizer.state_dict(),\n"
               "                 scheduler=scheduler.state_dict())\n"
               "    torch.save({'epoch': epoch}, path)\n"
               + resume("    scheduler.load_state_dict(_CKPT['scheduler'])\n"
                        "    return torch.load(path, weights_only=True)['epoch']\n", source="_CKPT"),
         "holds no tensors"),
        ("q2", "_CKPT = {}\n" + SAVE_RUN.replace("    torch.save(", "    _CKPT.update(model=model.state_dict(), "
                                               "optimizer=optimizer.state_dict())\n    torch.save(")
         + resume(source="{**torch.load(path, weights_only=True), **_CKPT}"), "the saved model has *now*"),
        ("q2", SAVE_RUN.replace("'scheduler': scheduler.state_dict(), ", "")
               .replace("    torch.save(", "    torch.save(scheduler.state_dict(), str(path) + '.sched')\n"
                                             "    torch.save(")
         + resume("    scheduler.load_state_dict(torch.load(str(path) + '.sched', weights_only=True))\n"
                  "    return checkpoint['epoch']\n"), "wrote 2 files (checkpoint.pt, checkpoint.pt.sched)"),
        ("q2", "model_b = helpers.LinearRegressionModel()  # the notebook's own run\n"
               "optimizer_b = torch.optim.SGD(model_b.parameters(), lr=0.01, momentum=0.9)\n"
               + SAVE_RUN.replace("(path, model, optimizer,", "(path, net, opt,")
                         .replace("model.state_dict()", "model_b.state_dict()")
                         .replace("optimizer.state_dict()", "optimizer_b.state_dict()") + resume(),
         "the weights of another model"),
        ("q2", SAVE_RUN.replace("'scheduler': scheduler.state_dict(), ", "")
         + resume("    for _ in range(checkpoint['epoch']):\n        scheduler.step()\n"
                  "    return checkpoint['epoch']\n"), "called scheduler.step() 10 times instead of loading"),
        ("q2", SAVE_RUN.replace("'optimizer': optimizer.state_dict()", "'momentum': optimizer.state_dict()['state']")
         + resume().replace("    optimizer.load_state_dict(checkpoint['optimizer'])\n",
                            "    state = optimizer.state_dict()\n    state['state'] = checkpoint['momentum']\n"
                            "    optimizer.load_state_dict(state)\n"), "param_groups hold the current rate"),
        ("q2", SAVE_RUN + resume("    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)\n"
                                 "    scheduler.load_state_dict(checkpoint['scheduler'])\n"
                                 "    return checkpoint['epoch']\n"), "on the argument (not on a new scheduler)"),
        ("q2", SAVE_RUN.replace("'scheduler': scheduler.state_dict(), ", "")
         + resume("    return checkpoint['epoch']\n"),
         "halves the rate at the wrong epochs"),
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


RIGHT_BUNDLES = [
    # a tuple, or a list, of the state_dict and the settings: the task asks for one file, not for a dict
    "def save_bundle(path, model, config):\n"
    "    torch.save((model.state_dict(), dataclasses.asdict(config)), path)\n"
    "def load_bundle(path, model):\n"
    "    state, config = torch.load(path, weights_only=True)\n"
    "    model.load_state_dict(state)\n"
    "    return config\n",
    "def save_bundle(path, model, config):\n"
    "    torch.save([model.state_dict(), dataclasses.asdict(config)], path)\n"
    "def load_bundle(path, model):\n"
    "    state, config = torch.load(path, weights_only=True)\n"
    "    model.load_state_dict(state)\n"
    "    return config\n",
    # the settings spread next to the weights, or folded into the state_dict under a key of their own
    "def save_bundle(path, model, config):\n"
    "    torch.save({'model': model.state_dict(), **dataclasses.asdict(config)}, path)\n"
    "def load_bundle(path, model):\n"
    "    bundle = torch.load(path, weights_only=True)\n"
    "    model.load_state_dict(bundle.pop('model'))\n"
    "    return bundle\n",
    "def save_bundle(path, model, config):\n"
    "    state = dict(model.state_dict())\n"
    "    state['__config__'] = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}\n"
    "    torch.save(state, path)\n"
    "def load_bundle(path, model):\n"
    "    state = torch.load(path, weights_only=True)\n"
    "    config = state.pop('__config__')\n"
    "    model.load_state_dict(state)\n"
    "    return config\n",
    # the parameters as a list, copied in by hand; file objects and a BytesIO
    "def save_bundle(path, model, config):\n"
    "    torch.save({'params': [p.detach().clone() for p in model.parameters()],\n"
    "                'config': dataclasses.asdict(config)}, path)\n"
    "def load_bundle(path, model):\n"
    "    bundle = torch.load(path, map_location='cpu', weights_only=True)\n"
    "    with torch.no_grad():\n"
    "        for p, q in zip(model.parameters(), bundle['params']):\n"
    "            p.copy_(q)\n"
    "    return bundle['config']\n",
    "import io\nfrom pathlib import Path\n"
    "def save_bundle(path, model, config):\n"
    "    with open(path, 'wb') as f:\n"
    "        torch.save({'m': model.state_dict(), 'c': json.dumps(dataclasses.asdict(config))}, f)\n"
    "def load_bundle(path, model):\n"
    "    bundle = torch.load(io.BytesIO(Path(path).read_bytes()), weights_only=True, mmap=False)\n"
    "    model.load_state_dict(bundle['m'])\n"
    "    return json.loads(bundle['c'])\n",
]
RIGHT_RUNS = [
    # helpers' checkpoint with the scheduler's state as an extra
    "def save_run(path, model, optimizer, scheduler, epoch):\n"
    "    helpers.save_checkpoint(path, model, optimizer, epoch, scheduler=scheduler.state_dict())\n"
    "def resume_run(path, model, optimizer, scheduler):\n"
    "    checkpoint = helpers.load_checkpoint(path, model, optimizer)\n"
    "    scheduler.load_state_dict(checkpoint['scheduler'])\n"
    "    return checkpoint['epoch']\n",
    # nested states, loaded in another order, on the cpu
    "def save_run(path, model, optimizer, scheduler, epoch):\n"
    "    states = {name: obj.state_dict() for name, obj in [('m', model), ('o', optimizer), ('s', scheduler)]}\n"
    "    torch.save({'states': states, 'epoch': int(epoch)}, path)\n"
    "def resume_run(path, model, optimizer, scheduler):\n"
    "    checkpoint = torch.load(path, map_location='cpu', weights_only=True)\n"
    "    scheduler.load_state_dict(checkpoint['states']['s'])\n"
    "    optimizer.load_state_dict(checkpoint['states']['o'])\n"
    "    model.load_state_dict(checkpoint['states']['m'])\n"
    "    return checkpoint['epoch']\n",
    # written to a temporary name beside the path, then renamed over it: one file in the end
    "import os\n"
    "def save_run(path, model, optimizer, scheduler, epoch):\n"
    "    tmp = str(path) + '.tmp'\n"
    "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),\n"
    "                'scheduler': scheduler.state_dict(), 'epoch': epoch}, tmp)\n"
    "    os.replace(tmp, path)\n"
    "def resume_run(path, model, optimizer, scheduler):\n"
    "    checkpoint = torch.load(path, weights_only=True)\n"
    "    for key, obj in (('model', model), ('optimizer', optimizer), ('scheduler', scheduler)):\n"
    "        obj.load_state_dict(checkpoint[key])\n"
    "    return checkpoint['epoch']\n",
]


def test_right_answers_written_differently_are_correct():
    """The red team's read: a tuple or a list in the file was refused ("not a dict"); the task asks for one file."""
    import json

    for code in RIGHT_BUNDLES:
        result = verdict("ex06", "q1", code, {"dataclasses": dataclasses, "json": json})
        assert result.state == "correct", (code, result)
    for code in RIGHT_RUNS:
        result = verdict("ex06", "q2", code, {})
        assert result.state == "correct", (code, result)
