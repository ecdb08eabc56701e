"""Watching a training step: copies of the caller's objects, with hooks that record what the step does."""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

_MODE_SENSITIVE = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
_ELEMENTWISE = (nn.L1Loss, nn.MSELoss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss)
_SYMMETRIC = (nn.L1Loss, nn.MSELoss, nn.SmoothL1Loss, nn.HuberLoss)  # loss_fn(y, y_pred) == loss_fn(y_pred, y)
_SYMMETRIC_FN = (F.l1_loss, F.mse_loss, F.smooth_l1_loss, F.huber_loss)
_ELEMENTWISE_FN = (
    F.l1_loss,
    F.mse_loss,
    F.smooth_l1_loss,
    F.huber_loss,
    F.binary_cross_entropy,
    F.binary_cross_entropy_with_logits,
)


@dataclass
class _LossCall:
    """What one call of the loss function saw: its prediction, its target and its output."""

    pred: object  # detached
    target: object
    input: object = None  # the model's input in the forward pass before this call (not copied)
    pred_grad: bool = False  # the prediction required grad
    target_grad: bool = False  # the target required grad (a model's output passed as the target?)
    out: torch.Tensor | None = None  # detached
    requires_grad: bool = False  # the output required grad


@dataclass
class _StepLog:
    """Everything seen during one call of the step."""

    leftover: list  # each parameter's .grad when the step began (None: no gradient)
    fresh: dict = field(default_factory=dict)  # parameter index -> gradient computed before optimizer.step()
    at_step: list | None = None  # each parameter's .grad at optimizer.step() (or at the end without one)
    stepped: bool = False  # optimizer.step() was called
    steps: int = 0  # calls of optimizer.step()
    others: list = field(default_factory=list)  # other optimizers that stepped and hold this model's parameters
    strangers: int = 0  # steps of other optimizers that hold none of this model's parameters
    last_input: object = None  # the model's input in its latest forward pass
    backwards: int = 0  # calls of Tensor.backward()
    late: bool = False  # a gradient arrived after optimizer.step()
    forwards: list = field(default_factory=list)  # (grad enabled, inference mode, modules in eval mode)
    outputs: list = field(default_factory=list)  # (shape, requires grad) of the model's outputs
    losses: list = field(default_factory=list)  # _LossCall
    output_reached: bool = False  # backward went through the model's output
    loss_reached: bool = False  # backward went through the loss function's output
    loss_grad: bool = False  # a gradient other than 0 reached the loss function's output
    cleared: bool = False  # zero_grad() ran after a gradient arrived and before optimizer.step()
    clips: list = field(default_factory=list)  # (clipping function's name, its threshold) called in the step
    before: list | None = None  # the parameters just before optimizer.step() (dropped once `progress` is known)
    progress: float | None = None  # -(gradient . update): how much the update lowers the loss, to first order
    potential: float | None = None  # |gradient| * |parameters|: how much the loss could change with the parameters
    value: float | None = None
    error: Exception | None = None


def _clone(t: torch.Tensor | None) -> torch.Tensor | None:
    """A detached copy of a gradient, or None."""
    return None if t is None else t.detach().clone()


class _Watch:
    """Copies of the caller's objects with hooks that record what a step does to them."""

    def __init__(self, model: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer) -> None:
        mine = {id(p) for p in model.parameters()}
        self.foreign = sum(id(p) not in mine for g in optimizer.param_groups for p in g["params"])
        memo: dict = {}
        try:  # one memo: the optimizer's copy holds the model copy's parameters
            self.model, self.optimizer = copy.deepcopy(model, memo), copy.deepcopy(optimizer, memo)
            self.loss_fn = copy.deepcopy(loss_fn, memo) if isinstance(loss_fn, nn.Module) else loss_fn
        except Exception as error:
            raise ValueError(
                "diagnose works on copies, and copy.deepcopy failed on the model, the optimizer or the loss "
                f"function: {error}"
            ) from error
        self.original = list(model.parameters())
        self.names = [name for name, _ in self.model.named_parameters()]
        self.params = list(self.model.parameters())
        held = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        self.in_optimizer = [id(p) in held for p in self.params]
        self.kind = _loss_kind(loss_fn)
        self.symmetric = isinstance(loss_fn, _SYMMETRIC) or any(loss_fn is f for f in _SYMMETRIC_FN)
        self.loss_name = type(loss_fn).__name__ if isinstance(loss_fn, nn.Module) else getattr(loss_fn, "__name__", "?")
        self.lrs = sorted({float(g.get("lr", 0.0)) for g in self.optimizer.param_groups})
        self.ran: set[str] = set()  # names of the layers with parameters whose forward ran
        self.layer_mismatch: dict[str, str] = {}  # "dtype"/"device" -> what a layer saw
        self.logs: list[_StepLog] = []
        self._hook()

    def _hook(self) -> None:
        """Hooks on the copies: parameters' gradients, optimizer.step(), forward passes, layers, the loss."""
        for i, p in enumerate(self.params):
            if p.requires_grad:
                p.register_hook(lambda g, i=i: self._on_grad(i, g))
        self.optimizer.register_step_pre_hook(lambda *_: self._on_step())
        for owner in (self.optimizer, self.model):  # zero_grad() between backward() and step() clears gradients
            owner.zero_grad = self._watched_zero_grad(owner.zero_grad)
        self.model.register_forward_pre_hook(lambda m, args: self._on_forward(args))
        self.model.register_forward_hook(lambda m, args, out: self._on_output(out))
        for name, module in self.model.named_modules():
            if next(module.parameters(recurse=False), None) is not None:
                where = f"Layer '{name}' ({type(module).__name__})" if name else f"The model ({type(module).__name__})"
                module.register_forward_pre_hook(
                    lambda m, args, where=where, name=name: self._on_layer(where, name, m, args)
                )
        if isinstance(self.loss_fn, nn.Module):
            self.loss_fn.register_forward_pre_hook(lambda m, args: self._on_loss_in(args))
            self.loss_fn.register_forward_hook(lambda m, args, out: self._on_loss_out(out))
        else:
            inner = self.loss_fn

            def watched(*args, **kwargs):
                """The caller's loss function, recorded."""
                self._on_loss_in(args)
                return self._on_loss_out(inner(*args, **kwargs))

            self.loss_fn = watched

    def calls(self) -> list[_LossCall]:
        """Every call of the loss function, over all steps."""
        return [call for log in self.logs for call in log.losses]

    @property
    def log(self) -> _StepLog:
        """The log of the step running now."""
        return self.logs[-1]

    def _on_grad(self, i: int, g: torch.Tensor) -> None:
        """A fresh gradient for parameter i (before it is added to .grad)."""
        if self.log.at_step is not None:
            self.log.late = True
        else:
            old = self.log.fresh.get(i)
            self.log.fresh[i] = g.detach().clone() if old is None else old + g.detach()

    def _watched_zero_grad(self, inner: Callable) -> Callable:
        """zero_grad, noting when it runs after backward() made gradients and before optimizer.step()."""

        def zero_grad(*args, **kwargs):
            """The copy's own zero_grad, recorded."""
            if self.logs and self.log.at_step is None and self.log.fresh:
                self.log.cleared = True
            return inner(*args, **kwargs)

        return zero_grad

    def _on_step(self) -> None:
        """optimizer.step() is about to run: count it, and keep the gradients and parameters the first one uses."""
        self.log.steps += 1
        if self.log.at_step is None:
            self.log.at_step = [_clone(p.grad) for p in self.params]
            self.log.before = [p.detach().clone() for p in self.params]
            self.log.stepped = True

    def _on_any_step(self, optimizer: torch.optim.Optimizer, *_: object) -> None:
        """Any optimizer is about to step: note the ones that are not the optimizer passed in."""
        if optimizer is self.optimizer:
            return
        mine = {id(p) for p in self.params}
        if any(id(p) in mine for g in optimizer.param_groups for p in g["params"]):
            self.log.others.append(optimizer)
        else:
            self.log.strangers += 1

    def _on_forward(self, args: tuple) -> None:
        """A forward pass begins: its input, autograd's mode, and which modules are in eval mode."""
        self.log.last_input = args[0] if args and isinstance(args[0], torch.Tensor) else None
        eval_modules = [
            f"layer {n} ({type(m).__name__})" if n else "the model"
            for n, m in self.model.named_modules()
            if not m.training and (not n or isinstance(m, _MODE_SENSITIVE))
        ]
        self.log.forwards.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled(), eval_modules))

    def _on_output(self, out: object) -> None:
        """The model's output: its shape, and whether backward reaches it."""
        if isinstance(out, torch.Tensor):
            self.log.outputs.append((list(out.shape), out.requires_grad))
            if out.requires_grad:
                out.register_hook(lambda g: setattr(self.log, "output_reached", True))

    def _on_layer(self, where: str, name: str, module: nn.Module, args: tuple) -> None:
        """A layer with parameters gets its input: note that it ran; compare dtype and device with its parameters'."""
        self.ran.add(name)
        p = next(module.parameters(recurse=False))
        for x in args:
            if not isinstance(x, torch.Tensor):
                continue
            if x.is_floating_point() and p.is_floating_point() and x.dtype != p.dtype:
                self.layer_mismatch.setdefault(
                    "dtype", f"{where} got a {x.dtype} input, but its parameters are {p.dtype}."
                )
            if x.device != p.device:
                self.layer_mismatch.setdefault(
                    "device", f"{where} got an input on '{x.device}', but its parameters are on '{p.device}'."
                )

    def _on_loss_in(self, args: tuple) -> None:
        """The loss function is called: keep its prediction and target."""
        pred, target = (list(args) + [None, None])[:2]
        grad = isinstance(pred, torch.Tensor) and pred.requires_grad
        target_grad = isinstance(target, torch.Tensor) and target.requires_grad
        pred = pred.detach() if isinstance(pred, torch.Tensor) else pred
        self.log.losses.append(_LossCall(pred, target, self.log.last_input, grad, target_grad))

    def _on_loss_out(self, out: object) -> object:
        """The loss function returned: keep its output, and learn whether backward reaches it."""
        if self.log.losses and isinstance(out, torch.Tensor):
            self.log.losses[-1].out = out.detach()
            self.log.losses[-1].requires_grad = out.requires_grad
            if out.requires_grad:
                out.register_hook(self._on_loss_grad)
        return out

    def _on_loss_grad(self, g: torch.Tensor) -> None:
        """backward() reached the loss function's output: note it, and whether the gradient there was not 0."""
        self.log.loss_reached = True
        self.log.loss_grad = self.log.loss_grad or bool(g.ne(0).any())

    def run(self, step: Callable, X: torch.Tensor, y: torch.Tensor, steps: int) -> None:
        """Call the step `steps` times (stop at its first error), logging each call."""
        original = torch.Tensor.backward
        clippers = {name: getattr(nn.utils, name) for name in ("clip_grad_norm_", "clip_grad_value_")}

        def backward(tensor: torch.Tensor, *args, **kwargs):
            """Tensor.backward, counted."""
            self.log.backwards += 1
            return original(tensor, *args, **kwargs)

        def clipper(name: str) -> Callable:
            """nn.utils.clip_grad_norm_ or clip_grad_value_, recording its threshold."""

            def clip(*args, **kwargs):
                threshold = args[1] if len(args) > 1 else kwargs.get("max_norm", kwargs.get("clip_value"))
                self.log.clips.append((name, threshold))
                return clippers[name](*args, **kwargs)

            return clip

        for _ in range(steps):
            self.logs.append(_StepLog(leftover=[_clone(p.grad) for p in self.params]))
            torch.Tensor.backward = backward  # counted only while the step runs
            for name in clippers:
                setattr(nn.utils, name, clipper(name))
            any_step = register_optimizer_step_pre_hook(self._on_any_step)  # every optimizer's step(), this one's too
            try:
                returned = step(self.model, X, y, self.loss_fn, self.optimizer)
            except Exception as error:  # a learner's step: any error becomes a finding
                self.log.error = error
                return
            finally:
                torch.Tensor.backward = original
                for name, fn in clippers.items():
                    setattr(nn.utils, name, fn)
                any_step.remove()
            self._progress(self.log)
            self.log.value = _as_float(returned)
            if self.log.value is None and self.log.losses and self.log.losses[0].out is not None:
                self.log.value = _as_float(self.log.losses[0].out)
            if self.log.at_step is None:  # no optimizer.step(): compare gradients at the end instead
                self.log.at_step = [_clone(p.grad) for p in self.params]

    def _progress(self, log: _StepLog) -> None:
        """After a step that called optimizer.step(): how far its update lowers the loss to first order, -g . dp,
        and |g| * |p|, how much the loss could change if the parameters moved by their own size."""
        if log.before is None:
            return
        pairs = [(g, p.detach(), b) for g, p, b in zip(log.at_step, self.params, log.before) if g is not None]
        log.before = None
        if pairs and all(p.device.type != "meta" and g.shape == p.shape for g, p, _ in pairs):
            with torch.no_grad():
                dot = torch.stack([torch.vdot(g.flatten().float(), (p - b).flatten().float()) for g, p, b in pairs])
                g_sq = torch.stack([torch.vdot(g.flatten().float(), g.flatten().float()) for g, _, _ in pairs])
                p_sq = torch.stack([torch.vdot(b.flatten().float(), b.flatten().float()) for _, _, b in pairs])
                log.progress = -float(dot.double().sum())
                log.potential = math.sqrt(float(g_sq.double().sum()) * float(p_sq.double().sum()))


def _loss_kind(fn: object) -> str:
    """'ce', 'nll', 'elementwise' (prediction and target must match in shape) or 'other'."""
    if isinstance(fn, nn.CrossEntropyLoss) or fn is F.cross_entropy:
        return "ce"
    if isinstance(fn, nn.NLLLoss) or fn is F.nll_loss:
        return "nll"
    return "elementwise" if isinstance(fn, _ELEMENTWISE) or fn in _ELEMENTWISE_FN else "other"


def _as_float(value: object) -> float | None:
    """The loss a step returned as a float, or None when it is not one number."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value.detach().float().item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _finite(t: object) -> bool:
    """False only when `t` is a checkable floating tensor with a NaN or inf in it."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.device.type == "meta":
        return True
    return bool(torch.isfinite(t).all())


def _shape(t: object) -> str:
    """A tensor's shape as a list in a string, else its type's name."""
    return str(list(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__
