"""Notebook 09's frozen backbone: a small network with a batch-norm backbone and a dropout head, frozen by the
learner's freeze_backbone, then trained for two epochs each started by the learner's train_mode, naming what moved."""

from __future__ import annotations

import torch
from torch import nn

from ._core import Incorrect
from ._util import call, need

__all__ = ["check_trained", "frozen_net"]


class _Net(nn.Module):
    """A small network with a `backbone` (a convolution and batch norm) and a `head` (dropout, a linear layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features, then logits."""
        return self.head(self.backbone(x))


def frozen_net(freeze_backbone: object, seed: int) -> _Net:
    """A network whose backbone a first task trained (statistics away from 0 and 1), after freeze_backbone(model)."""
    torch.manual_seed(seed)
    net = _Net()
    with torch.no_grad():
        net.backbone[1].running_mean.fill_(0.5 + seed)
        net.backbone[1].running_var.fill_(2.0 + seed)
    call(freeze_backbone, net, case="For freeze_backbone(model)")
    need(torch.is_grad_enabled(), "freeze_backbone(model) switched autograd off for the whole program "
         "(torch.set_grad_enabled(False)): no parameter, the head's neither, gets a gradient any more. Freeze the "
         "backbone's parameters only: model.backbone.requires_grad_(False).")
    need(any(p.requires_grad for p in net.parameters()), "no parameter can learn any more: freeze model.backbone only, "
                                                         "so that model.head learns.")
    head_frozen = not any(p.requires_grad for p in net.head.parameters())
    need(not (head_frozen and all(p.requires_grad for p in net.backbone.parameters())),
         "you froze model.head and left model.backbone learning: the other way round. Freeze the backbone.")
    need(all(p.requires_grad for p in net.head.parameters()), "the head is frozen too: freeze model.backbone only.")
    return net


def _train_mode_alone(train_mode: object, net: _Net, other: _Net) -> None:
    """train_mode(net) in a loop's place, which must change no other model (`other`, frozen too, in training mode)."""
    net.eval()
    other.train()
    call(train_mode, net, case="For train_mode(model) at the start of an epoch")
    need(other.training and other.backbone.training, "train_mode(model) changed the modes of another model than the "
         "one it was given: the check froze two models, and train_mode on one of them put the other's backbone in "
         "eval mode. Your code keeps something from an earlier call (a list of frozen backbones at module level?): "
         "work on the model passed in, model.backbone.")
    need(net.head.training, "after train_mode(model) the head is in eval mode: its dropout would not drop. "
                            "Start with model.train(), then change the backbone only.")
    need(net.head[0].p == 0.3, f"train_mode(model) set the head's dropout p from 0.3 to {net.head[0].p}: that "
                               "switches dropout off for good. The head trains with its dropout as it is: leave p "
                               "alone, and put only the backbone in eval mode.")


def check_trained(net: _Net, other: _Net, train_mode: object) -> None:
    """Two epochs of one step: the backbone's weights and batch-norm statistics stay, the head learns with dropout."""
    bn = net.backbone[1]
    weights = [p.detach().clone() for p in net.backbone.parameters()]
    head = [p.detach().clone() for p in net.head.parameters()]
    stats = [bn.running_mean.clone(), bn.running_var.clone()]
    modes: list[tuple[str, bool]] = []
    bn.register_forward_pre_hook(lambda module, _: modes.append(("bn", module.training)))
    net.head[0].register_forward_pre_hook(lambda module, _: modes.append(("dropout", module.training)))
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.01)
    X, y = torch.rand(8, 1, 6, 6, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 3
    for _ in range(2):  # two epochs of one step, each started by train_mode, after an evaluation in eval mode
        _train_mode_alone(train_mode, net, other)
        loss = nn.functional.cross_entropy(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    need(all(torch.equal(p, q) for p, q in zip(net.backbone.parameters(), weights)),
         "two training steps changed the backbone's weights: they are not frozen. requires_grad_(False) on "
         "model.backbone stops gradients (eval() alone does not).")
    still = [name for name, p in net.backbone.named_parameters() if p.requires_grad]
    need(not still, f"the backbone's weights stayed, but its parameters still require gradients "
         f"({', '.join(still)}: requires_grad=True): autograd still computes them every step, and an optimizer "
         "with weight decay or momentum would still move them. Freeze them: model.backbone.requires_grad_(False).")
    if not all(torch.equal(b, s) for b, s in zip([bn.running_mean, bn.running_var], stats)):
        raise Incorrect("the backbone's weights stayed, but its batch norm's running mean and variance changed: in "
                        "training mode batch norm updates its statistics from every batch, frozen or not. After "
                        "model.train(), put model.backbone back in eval mode.")
    need(not any(on for what, on in modes if what == "bn"), "the running mean and variance stayed, but the backbone's "
         "batch norm ran in training mode: there it normalizes each batch with that batch's own mean and variance, "
         "not its running statistics, so the head learns on other features than it will get in eval mode. After "
         "model.train(), put model.backbone in eval mode.")
    need(all(on for what, on in modes if what == "dropout"), "the head's dropout ran in eval mode, so it never "
         "dropped: after model.train(), put only model.backbone in eval mode.")
    need(any(not torch.equal(p, q) for p, q in zip(net.head.parameters(), head)),
         "two training steps did not change the head: it should still learn.")
