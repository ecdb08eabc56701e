"""ex13 q1's machinery: the indices DistributedSampler gives each rank, and why a learner's shares differ from them."""

from __future__ import annotations

import math

from torch.utils.data import DistributedSampler

__all__ = ["explain_shares", "sampler"]


def sampler(n: int, world_size: int, rank: int, shuffle: bool, seed: int, epoch: int, drop_last: bool) -> list[int]:
    """What DistributedSampler itself gives this rank in this epoch."""
    sampler_ = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed,
                                  drop_last=drop_last)
    sampler_.set_epoch(epoch)
    return list(sampler_)


def _dealt(shares: list[list[int]]) -> list[int]:
    """The whole order that, dealt out in turn, gives these shares of equal length (position p to rank p % ranks)."""
    return [shares[p % len(shares)][p // len(shares)] for p in range(len(shares) * len(shares[0]))]


def _uneven(n: int, world_size: int, sizes: list[int], size: int) -> str:
    """The ranks got shares of different lengths."""
    return (f", the ranks got {sizes} indices: every rank must get the same number ({size}), or the ranks would not "
            "take the same number of steps. Pad the order by repeating it from the start"
            + (" (as many times as needed: here the padding is longer than the order itself)." if n < world_size
               else "."))


def _wrong_size(n: int, world_size: int, drop_last: bool, got: int, size: int) -> str:
    """Every rank got `got` indices where DistributedSampler gives `size`."""
    each = f", each rank got {'no' if got == 0 else got} ind{'ices' if got > 1 else 'ex'}"
    if n % world_size == 0:
        what = ("drop_last=True has nothing to cut (n % world_size is 0)" if drop_last and got < size
                else "no padding")
        return f"{each}: {n} divides by {world_size}: {what}, {size} each."
    if drop_last and got == math.ceil(n / world_size):
        return (f"{each}: with drop_last=True the order is cut to a multiple of world_size ({size} each), "
                "not padded.")
    if drop_last:
        return (f"{each}; DistributedSampler gives {size}: drop_last=True cuts the order to the largest multiple of "
                f"world_size, its first {size * world_size} of {n} indices, {n} // {world_size} = {size} each.")
    return (f"{each}; DistributedSampler gives {size}: drop_last=False pads the order up to the next multiple of "
            f"world_size, {size * world_size} indices, {size} each.")


def _share_misplaced(got: list[list[int]], want: list[list[int]], r: int) -> str | None:
    """Rank r's share holds the right indices in another order, or is another rank's share; else None."""
    if got[r] in want:
        return (f", rank {r} got {got[r]}, the share of rank {want.index(got[r])}: rank r's share starts at "
                "position r of the order and takes every world_size-th index from there.")
    if sorted(got[r]) != sorted(want[r]):
        return None
    how = ("reversed" if got[r] == want[r][::-1] else "sorted" if got[r] == sorted(want[r]) else "in another order")
    return (f", rank {r} got {got[r]}, the right indices {how}; DistributedSampler gives {want[r]}: keep them in the "
            "order's sequence, positions r, r + world_size, r + 2 * world_size, ...")


def _wrong_order(n: int, world_size: int, shuffle: bool, seed: int, epoch: int, drop_last: bool,
                 got: list[list[int]], want: list[list[int]]) -> str:
    """Shares of the right length: say which part of the order (shuffle, cut, padding, dealing out) went wrong."""
    r = next(r for r in range(world_size) if got[r] != want[r])  # the first rank that differs
    wrong = f", rank {r} got {got[r]}; DistributedSampler gives {want[r]}"
    mine, order = _dealt(got), _dealt(want)
    size = len(want[0])
    if got == [order[r * size:(r + 1) * size] for r in range(world_size)]:
        return (f", rank 0 got {got[0]}, a block of consecutive positions: DistributedSampler deals the order out in "
                f"turn, rank r taking positions r, r + world_size, r + 2 * world_size, ...")
    misplaced = _share_misplaced(got, want, r)
    if misplaced:
        return misplaced
    if not drop_last and mine[:n] == order[:n]:
        return (f"{wrong}. Your order's first {n} indices are right{' (your shuffle is right)' if shuffle else ''}, "
                f"its padding is not: you padded with {mine[n:]}, where DistributedSampler repeats the order from its "
                f"start: {order[n:]}.")
    if drop_last and not shuffle and len(set(mine)) < len(mine):
        return (f"{wrong}: an index is read twice. With drop_last=True no index repeats: the order is cut to its "
                f"first {len(order)} indices, a multiple of world_size.")
    if shuffle:
        base = sampler(n, world_size, 0, shuffle, seed, 0, drop_last)
        if epoch and got[0] == base and want[0] != base:
            return (f", rank 0 got {got[0]}, the order of epoch 0: the generator is seeded with seed + epoch, so that "
                    "each epoch has its own order.")
        if all(g == sampler(n, world_size, r, False, seed, epoch, drop_last) for r, g in enumerate(got)):
            return f", rank 0 got {got[0]}, in order: with shuffle=True, shuffle the order first."
        if r > 0 and got[r] == sampler(n, world_size, r, shuffle, seed + r, epoch, drop_last):
            return (f"{wrong}: rank {r} shuffled with a seed of its own. Every rank must draw the same permutation "
                    "(from seed + epoch, without the rank), or the ranks' shares overlap and leave samples out.")
        return (f"{wrong}. Draw the order with torch.randperm(n, generator=...), from a torch.Generator seeded with "
                "seed + epoch.")
    return (f"{wrong}. DistributedSampler's whole order here is {order}: rank r takes its positions r, "
            "r + world_size, r + 2 * world_size, ...")


def explain_shares(n: int, world_size: int, shuffle: bool, seed: int, epoch: int, drop_last: bool,
                   got: list[list[int]], want: list[list[int]]) -> str:
    """Say what went wrong for one case, comparing all ranks' answers with DistributedSampler's."""
    case = (f"For {n} samples, world_size={world_size}, shuffle={shuffle}, seed={seed}, epoch={epoch}, "
            f"drop_last={drop_last}")
    sizes, size = [len(g) for g in got], len(want[0])
    if len(set(sizes)) > 1:
        return case + _uneven(n, world_size, sizes, size)
    if sizes[0] != size:
        return case + _wrong_size(n, world_size, drop_last, sizes[0], size)
    return case + _wrong_order(n, world_size, shuffle, seed, epoch, drop_last, got, want)
