"""The MSE Hessian of a linear model, H = 2/N AᵀA: the learning-rate limit 2 / its largest eigenvalue, the matrices
a learner's code hands to torch.linalg's eigenvalue solvers, and what a wrong limit or a wrong H computed."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator

import torch

from ._core import Incorrect
from ._util import close, need, replaced

__all__ = ["check_hessian", "design", "largest", "limit", "limit_mistake", "watched_solvers"]


def design(X: torch.Tensor, ones: torch.Tensor | None = None) -> torch.Tensor:
    """The matrix A: the inputs' columns and a column of ones (or the given `ones`), in double precision."""
    ones = torch.ones(len(X), 1, dtype=X.dtype) if ones is None else ones
    return torch.cat([X, ones], dim=1).double()


_EIGVALSH = torch.linalg.eigvalsh  # the real solver: the check's own sums never go through the watched one
_SOLVERS = ("eigvalsh", "eigh", "eigvals", "eig")  # every matrix handed to these must be the Hessian
_SPECTRAL = ("svdvals", "svd", "matrix_norm", "norm")  # a square matrix's largest singular value is λ_max too


def largest(H: torch.Tensor) -> float:
    """The largest eigenvalue of a symmetric matrix."""
    return _EIGVALSH(H)[-1].item()


def limit(A: torch.Tensor) -> float:
    """2 / the largest eigenvalue of the MSE Hessian 2/N AᵀA."""
    return 2 / largest(2 * A.T @ A / len(A))


@contextlib.contextmanager
def watched_solvers(seen: list) -> Iterator[None]:
    """Record (a copy of) every matrix the learner's code hands to torch.linalg's eigenvalue solvers, and every
    square one whose singular values or spectral norm (ord=2) it takes: each of these stands for H's eigenvalues."""
    real = {name: getattr(torch.linalg, name) for name in _SOLVERS + _SPECTRAL}

    def watch(name: str) -> object:
        def solver(matrix: object, *args: object, **kwargs: object) -> object:
            """torch.linalg's function, recording the matrix it was given."""
            spectral = name in ("svdvals", "svd") or (args[:1] or [kwargs.get("ord")])[0] in (2, -2)
            square = isinstance(matrix, torch.Tensor) and matrix.dim() == 2 and matrix.shape[0] == matrix.shape[1]
            if name in _SOLVERS or (spectral and square):
                seen.append(matrix.detach().clone() if isinstance(matrix, torch.Tensor) else torch.zeros(0))
            return real[name](matrix, *args, **kwargs)
        return solver

    with contextlib.ExitStack() as stack:
        for name in real:
            stack.enter_context(replaced(torch.linalg, name, watch(name)))
        yield


def _scale(M: torch.Tensor, H: torch.Tensor) -> float | None:
    """c if M is c times H with its parameters in some order (columns of A in another order), else None."""
    if M.shape != H.shape:
        return None
    M, tol = M.double(), 1e-3 * H.abs().max().item()
    for order in itertools.permutations(range(len(H))):
        P = H[list(order)][:, list(order)]
        c = ((M * P).sum() / (P * P).sum()).item()
        if torch.allclose(M, c * P, rtol=1e-3, atol=tol * abs(c)):
            return c
    return None


def _took(seen: list, H: torch.Tensor) -> bool:
    """True if the learner took the eigenvalues of H (in any parameter order), or of no matrix at all."""
    return not seen or any(_scale(M, H) is not None and math.isclose(_scale(M, H), 1, rel_tol=1e-3) for M in seen)


def check_hessian(seen: list, name: str, H: torch.Tensor, n: int, lead: str) -> None:
    """Each matrix whose eigenvalues the learner takes must be the Hessian H = 2/N AᵀA: [k + 1, k + 1].

    `lead` starts a message about its numbers: what was wrong (or right) with the limit."""
    k = len(H) - 1
    params = f"{k} {'weight' if k == 1 else 'weights'} and the bias"
    for M in seen:
        got = list(M.shape)
        if got == [n, n]:
            raise Incorrect(f"for {name} your H is {got}, one row and one column per *point*: that is A Aᵀ, not "
                            f"AᵀA. It happens to share its largest eigenvalue, but it is not the Hessian, which has "
                            f"one row and one column per *parameter* ({params}): [{k + 1}, {k + 1}].")
        need(got == [k + 1, k + 1], f"for {name} the matrix whose eigenvalues you take has shape {got}: the Hessian "
                                    f"has one row and one column per parameter ({params}), [{k + 1}, {k + 1}].")
        scale = _scale(M, H)
        if scale is not None and math.isclose(scale, 1, rel_tol=1e-3):
            continue
        if scale is not None:
            what = ("AᵀA/N, half the Hessian: the 2 from differentiating the square is missing"
                    if math.isclose(scale, 0.5, rel_tol=1e-3) else f"{scale:.4g} times the Hessian 2/N AᵀA")
            raise Incorrect(f"for {name} {lead}your H is {what}. H is the curvature itself: write H = 2/N AᵀA and "
                            "return 2 / its largest eigenvalue.")
        raise Incorrect(f"for {name} {lead}the matrix whose eigenvalues you take is not the Hessian 2/N AᵀA (A: the "
                        "input columns and one column of ones).")


def limit_mistake(got: float, want: float, name: str, X: torch.Tensor, earlier: list, seen: list) -> None:
    """Raise Incorrect naming what a wrong limit computed, where it can tell."""
    n, k = X.shape
    for other, other_got, other_want in earlier:
        need(got != other_got or close(want, other_want, 1e-3), f"for {name} lr_limit returned {got:.4f}, exactly "
             f"what it returned for {other}, but the two limits differ ({want:.4f} here): the limit depends on the "
             "values in X. Compute it from X on every call (no number kept from an earlier call, no notebook "
             "variable such as lr_max).")
    ones = torch.ones(n, 1)
    if close(got, 2 * want, 1e-3):
        raise Incorrect(f"for {name} your limit is {got:.4f}, twice the right one: the Hessian of the mean "
                        "squared error is 2/N AᵀA (the 2 comes from differentiating the square).")
    if close(got, want * n, 1e-3) or close(got, want / n, 1e-3):
        raise Incorrect(f"for {name} your limit is {got:.4f}, {n} times off: the loss is a *mean* over the "
                        f"{n} points, so the Hessian is 2/N AᵀA.")
    A = design(X)
    H = 2 * A.T @ A / n
    if close(got, 2 / _EIGVALSH(H)[0].item(), 1e-3):
        raise Incorrect(f"for {name} you divided by the smallest curvature: the steep direction, the largest "
                        "eigenvalue, is the one that blows up first.")
    if close(got, limit(X.double()), 1e-3):
        raise Incorrect(f"for {name} you left out the column of ones: the bias is a parameter too, and its "
                        "column in A is all ones.")
    if k > 1 and close(got, limit(design(X, torch.ones_like(X))), 1e-3):
        raise Incorrect(f"for {name} A got {k} columns of ones: ones_like(X) has as many columns as X. A linear "
                        "model has one bias, so A needs exactly one column of ones, torch.ones(N, 1).")
    centred = X - X.mean(0)
    for how, Z in (("standardised", centred / X.std(0)), ("centred", centred)):
        B = design(Z, ones)
        if close(got, limit(B), 1e-3) and _took(seen, 2 * B.T @ B / n):
            raise Incorrect(f"for {name} your limit is {got:.4f}, expected {want:.4f}: you {how} the inputs first. "
                            f"The model is trained on X as it is, and a {how} X has another curvature (changing it "
                            f"is what {how} inputs are for). Build A from X itself.")
    if close(got, 2 / H.diagonal().max().item(), 1e-3) and _took(seen, H):
        raise Incorrect(f"for {name} your limit is {got:.4f}, expected {want:.4f}: you divided by the largest "
                        "diagonal entry of H, the curvature along one parameter alone. Along a mix of parameters "
                        "it can be larger: the largest eigenvalue is the steepest direction.")
