"""The blank `____` of the exercises' starting code, and how a check finds it in an answer."""

from __future__ import annotations

import types

__all__ = ["BLANK", "Blank", "BlankError", "has_blank"]


class BlankError(Exception):
    """Raised when code uses a blank `____` that is still waiting to be filled in."""


class Blank:
    """The placeholder `____`: any use of it raises BlankError, and a check that meets it says 'not attempted'."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "____"

    def __format__(self, spec: str) -> str:
        return "____"

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        raise BlankError("a blank (____) is still waiting for your code")

    def _fail(self, *args: object, **kwargs: object):
        """Any use of the blank: raise BlankError."""
        raise BlankError("a blank (____) is still waiting for your code")

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = __float__ = __int__ = __index__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __abs__ = __matmul__ = __rmatmul__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail
    __pow__ = __rpow__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _fail


BLANK = Blank()


def has_blank(value: object, depth: int = 3) -> bool:
    """True if `value` is ____, holds it (containers), or is a function or class whose code mentions ____."""
    if value is BLANK:
        return True
    if depth <= 0:
        return False
    if isinstance(value, (types.FunctionType, types.MethodType)):
        return _code_has_blank(getattr(value, "__func__", value).__code__)
    if isinstance(value, type):
        return any(has_blank(v, depth - 1) for v in vars(value).values() if isinstance(v, (types.FunctionType, type)))
    if isinstance(value, dict):
        return any(has_blank(k, depth - 1) or has_blank(v, depth - 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_blank(v, depth - 1) for v in value)
    # an object of a class of the learner's: look at its methods (torch's own classes have no blanks)
    return type(value).__module__.split(".")[0] != "torch" and has_blank(type(value), 2)


def _code_has_blank(code: types.CodeType) -> bool:
    """True if a code object (or one nested in it) names ____."""
    return "____" in code.co_names or any(isinstance(c, types.CodeType) and _code_has_blank(c) for c in code.co_consts)
