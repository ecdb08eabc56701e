"""Did the loss compare the predictions with y? wrong-target: shuffled labels, reordered inputs, the inputs, or
another tensor."""

import torch

from .report import Finding
from .watch import _LossCall, _shape, _Watch


def _wrong_target(w: _Watch, X: torch.Tensor, y: torch.Tensor) -> Finding | None:
    """wrong-target: in some step no call of the loss function compared the predictions with y (or its rows)."""
    rows = _Rows(X)
    for k, log in enumerate(w.logs, 1):
        kinds = [_target_kind(c, rows, X, y) for c in log.losses]
        if not kinds or "y" in kinds or all(kind == "unknown" for kind in kinds):
            continue
        call, kind = next((c, kind) for c, kind in zip(log.losses, kinds) if kind != "unknown")
        return _finding(k, kind, call)
    return None


def _finding(k: int, kind: str, call: _LossCall) -> Finding:
    """The finding for step k: what the loss's target was instead of y."""
    fix = "pass the loss the targets that belong to X: loss = loss_fn(model(X), y)."
    if kind == "inputs":
        return Finding(
            "wrong-target",
            f"At step {k} the loss compared the predictions with the model's input X, not with the targets y.",
            "the loss was called as loss_fn(y_pred, X), an easy slip when X and y have the same shape; the model then "
            "learns to copy its input.",
            fix + " (A model that should reproduce its input, an autoencoder, gets X passed as y.)",
        )
    if kind == "reordered":
        return Finding(
            "wrong-target",
            f"At step {k} the model saw the rows of X in another order, while the loss got y in its own order: "
            "each prediction was compared with the label of another row.",
            "X was shuffled or indexed inside the step without y, or the model was given another tensor that holds "
            "the same rows in another order (a global batch?), so inputs and labels no longer match.",
            "shuffle X and y together with one index (idx = torch.randperm(len(X)); X[idx], y[idx]), and give the "
            "model the step's own X; " + fix,
        )
    if kind == "shuffled":
        return Finding(
            "wrong-target",
            f"At step {k} the loss got the values of y in another order: each prediction was compared with the label "
            "of another row of X.",
            "the targets were shuffled (or indexed) inside the step without X, so inputs and labels no longer match "
            "and the model can only learn what all the labels share (their average, or the commonest class).",
            "shuffle X and y together with one index (idx = torch.randperm(len(X)); X[idx], y[idx]), or let "
            "DataLoader(shuffle=True) do it; " + fix,
        )
    return Finding(
        "wrong-target",
        f"At step {k} the loss's target (shape {_shape(call.target)}) was not y, nor its rows for the X the model saw.",
        "the step compares the predictions with another tensor: a global variable (y_train instead of the "
        "argument y?) or targets changed inside the step.",
        "use the step's own arguments; " + fix,
    )


def _target_kind(c: _LossCall, rows: "_Rows", X: torch.Tensor, y: torch.Tensor) -> str:
    """'y' (the loss got y, or the rows of y that match the model's input), 'inputs', 'reordered' (X's rows in
    another order, y in its own), 'shuffled', 'other', 'unknown'."""
    t = c.target
    if not isinstance(t, torch.Tensor) or t.dim() == 0 or t.numel() == 0 or t.device != y.device:
        return "unknown"  # also a target moved to another device: the device checks speak for it
    if t.device.type == "meta":
        return "unknown"
    idx = rows.index(c.input)  # which rows of X the model saw, in order (None: not rows of X)
    want = y[idx.to(y.device)] if idx is not None else y
    if _same(t, want, exact=True) or _same(c.pred, want, exact=True):  # also loss_fn(y, y_pred), harmless for L1, MSE
        return "y"
    if _same(t, X, exact=True) or _same(t, c.input, exact=True):
        return "inputs"
    if idx is not None and _same(t, y, exact=True):
        return "reordered"  # y in its own order, the rows of X in another
    if _same(t, want):  # y rescaled or one-hot on purpose
        return "y"
    if idx is None:
        return "unknown"  # the model saw something other than rows of X: the order cannot be checked
    return "shuffled" if _permuted(t, want) else "other"


def _same(t: object, want: object, exact: bool = False) -> bool:
    """t holds want's values, reshaped or cast; unless `exact`, also rescaled (a * want + b, a > 0) or one-hot."""
    if not (isinstance(t, torch.Tensor) and isinstance(want, torch.Tensor)) or t.device != want.device:
        return False
    if t.device.type == "meta" or t.numel() == 0:
        return False
    a, b = t.detach().double().flatten(), want.detach().double().flatten()
    if a.numel() == b.numel():
        if torch.allclose(a, b, rtol=1e-5, atol=1e-6):
            return True
        if exact:
            return False
        centred = b - b.mean()
        spread = centred.pow(2).sum()
        if spread == 0 or not torch.isfinite(spread):
            return False
        scale = (centred * (a - a.mean())).sum() / spread  # least squares a = scale * b + shift
        return bool(scale > 0) and torch.allclose(a, scale * centred + a.mean(), rtol=1e-4, atol=1e-6)
    labels = not exact and not want.is_floating_point() and want.numel() == len(t)
    return labels and t.dim() == 2 and torch.equal(t.detach().argmax(1), want.flatten().to(torch.long))


def _permuted(t: torch.Tensor, want: torch.Tensor) -> bool:
    """t holds the rows of want in another order."""
    if t.numel() != want.numel() or len(t) != len(want):
        return False
    a, b = t.detach().double().reshape(len(t), -1), want.detach().double().reshape(len(want), -1)
    (ra, ca), (rb, cb) = torch.unique(a, dim=0, return_counts=True), torch.unique(b, dim=0, return_counts=True)
    return ra.shape == rb.shape and torch.equal(ra, rb) and torch.equal(ca, cb)


class _Rows:
    """Finds which rows of X a tensor holds, in order (built on first use; None when X has repeated rows)."""

    def __init__(self, X: torch.Tensor) -> None:
        self.X, self._where = X, None

    def index(self, inp: object) -> torch.Tensor | None:
        """The indices into X of `inp`'s rows, or None when `inp` is not made of rows of X."""
        X = self.X
        if not isinstance(inp, torch.Tensor) or inp.device != X.device or X.device.type == "meta":
            return None
        if inp.dim() != X.dim() or inp.shape[1:] != X.shape[1:] or len(inp) > len(X) or len(inp) == 0:
            return None
        if inp.shape == X.shape and torch.equal(inp.detach().double(), X.double()):
            return torch.arange(len(X))
        if self._where is None:
            keys = [r.tobytes() for r in X.detach().double().reshape(len(X), -1).cpu().numpy()]
            self._where = dict(zip(keys, range(len(keys)))) if len(set(keys)) == len(keys) else {}
        found = [self._where.get(r.tobytes()) for r in inp.detach().double().reshape(len(inp), -1).cpu().numpy()]
        return None if not self._where or None in found else torch.tensor(found)
