"""helpers.exercises.ex12 (notebook 12): starting code, solutions, and plausible wrong answers refused with a
message."""

from __future__ import annotations

from ignite.engine import Events

from _exercises import ExerciseModule

EVAL_ONCE_OUTSIDE = '''def build_eval_step(model):
    model.eval()
    def step(engine, batch):
        X, y = batch
        with torch.no_grad():
            y_pred = model(X)
        return y_pred, y
    return step'''

# q1: the forward pass under gradient tracking, its output detached afterwards
DETACH_OLD = "with torch.inference_mode():  # or torch.no_grad(): no gradients to track\n            y_pred = model(X)"

# q3: a handler that runs after every batch of the evaluator and takes 0 while no accuracy exists yet: it reads
# each validation's accuracy during the next one (no KeyError), so it keeps the epoch after the best
STALE_OLD = 'Events.COMPLETED)\n    def keep_if_best(engine):\n        accuracy = engine.state.metrics["accuracy"]'
STALE_NEW = ('Events.ITERATION_COMPLETED)\n    def keep_if_best(engine):\n'
             '        accuracy = engine.state.metrics.get("accuracy", 0.0)')


class TestEx12(ExerciseModule):
    module = "ex12"
    names = {"Events": Events}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("        model.eval()                  # every call: training steps switch it back to train()\n", ""),
         "dropout was active"),
        ("q1", EVAL_ONCE_OUTSIDE, "inside the step, every time"),
        ("q1", ("with torch.inference_mode():", "if True:"), "track gradients"),
        ("q1", (DETACH_OLD, "if True:\n            y_pred = model(X).detach()"), "gradient tracking on"),
        ("q1", ("return y_pred, y", "return y_pred"), "return the pair"),
        ("q1", ("return y_pred, y", "return y, y_pred"), "predictions first"),
        ("q1", ("return y_pred, y", "return y_pred.argmax(dim=1), y"), "logits per input"),
        ("q1", ("return y_pred, y", "return y_pred.softmax(dim=1), y"), "probabilities"),
        ("q2", ("ITERATION_COMPLETED", "EPOCH_COMPLETED"), "end of its epoch"),
        ("q2", ("ITERATION_COMPLETED", "EPOCH_STARTED"), "output was None"),
        ("q2", ("ITERATION_COMPLETED", "ITERATION_STARTED"), "output was None"),
        ("q2", ("not math.isfinite(engine.state.output)", "engine.state.output == float('nan')"), "nan equals nothing"),
        ("q2", ("not math.isfinite(engine.state.output)", "math.isnan(engine.state.output)"), "infinite loss"),
        ("q2", ("engine.terminate()", "engine.terminate_epoch()"), "terminate_epoch"),
        ("q2", ("not math.isfinite(engine.state.output)", "engine.state.output > 0"), "a finite number"),
        ("q2", ("not math.isfinite(engine.state.output)", "math.isnan(engine.state.output) or engine.state.output > 1"),
         "A large loss is not a broken one"),
        ("q2", ("not math.isfinite(engine.state.output)", "engine.state.output != engine.state.output "
                "or engine.state.output > 1e3"), "where the loss was 1000000.0"),
        ("q2", ("not math.isfinite(engine.state.output)", "math.isnan(engine.state.output) "
                "or engine.state.output == math.inf"), "the loss was -inf from iteration 7"),
        ("q3", ("accuracy > best", "accuracy >= best"), "a tie is not a new best"),
        ("q3", ("{name: t.clone() for name, t in model.state_dict().items()}", "model.state_dict()"), "Keep a copy"),
        ("q3", ("trainer.state.epoch", "engine.state.epoch"), "evaluator's own epoch"),
        ("q3", ("accuracy > best[\"accuracy\"]", "True"), "the last epoch"),
        ("q3", ("accuracy > best", "accuracy < best"), "never kept anything"),
        ("q3", ("{name: t.clone() for name, t in model.state_dict().items()}", "model"), "a dict of its tensors"),
        ("q3", ("Events.COMPLETED", "Events.ITERATION_COMPLETED"), "before the evaluator had computed it"),
        ("q3", ("Events.COMPLETED", "Events.STARTED"), "before the evaluator had computed it"),
        ("q3", (STALE_OLD, STALE_NEW), "one validation late"),
        ("q3", ("trainer.state.epoch", "trainer.state.iteration"), "that is trainer.state.iteration"),
        ("q3", ('best["accuracy"] = accuracy', "pass"), "still -inf"),
        ("q3", ("trainer.state.epoch", "engine.state.iteration"), "the evaluator's iteration count"),
    ]
