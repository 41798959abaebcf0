"""Column values of the vector evaluator: typed columns carrying their unknown mask, and the frame.

* ``_Num``  — float64 values + ``known`` mask (``None`` = all known). Dates are day ordinals.
* ``_Str``  — int codes into a per-call vocabulary; ``-1`` is unknown (strings and enumerations).
* ``_Bool`` — two masks, ``t`` (definitely true) and ``f`` (definitely false); neither = unknown,
  which makes Kleene ``and``/``or``/``not`` two mask operations each.
* ``_NULL`` — the ``null`` literal: unknown of every type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

BoolArr = NDArray[np.bool_]
IntArr = NDArray[np.int64]
FloatArr = NDArray[np.float64]
_Site = tuple[str, str, int]  # (function, key, k): one call of a portfolio function


class _Num:
    __slots__ = ("k", "v")

    def __init__(self, v: Any, k: Any = None):
        self.v = v  # float64 array or np.float64 scalar
        self.k = k  # bool array, np.bool_ scalar, or None (all known)


class _Str:
    __slots__ = ("c",)

    def __init__(self, c: Any):
        self.c = c  # int array (-1 unknown) or int scalar (a literal)


class _Bool:
    __slots__ = ("f", "t")

    def __init__(self, t: Any, f: Any):
        self.t = t
        self.f = f


class _Null:
    __slots__ = ()


V = _Num | _Str | _Bool | _Null
_NULL = _Null()
_UNKNOWN = _Bool(np.False_, np.False_)
_TRUE = np.True_
_FALSE = np.False_


def _and_k(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _known(x: V) -> Any:
    """Known mask: None for all known, else a bool array or scalar."""
    if isinstance(x, _Num):
        return x.k
    if isinstance(x, _Str):
        return x.c >= 0
    if isinstance(x, _Bool):
        return x.t | x.f
    return _FALSE


def _bool_of(r: Any, k: Any) -> _Bool:
    if k is None:
        return _Bool(r, ~r)
    return _Bool(r & k, ~r & k)


class _Ctx:
    """Per-call state plus the current chunk's frame (rows ``lo:hi`` of the batch)."""

    __slots__ = ("as_of", "hi", "lo", "n", "pre", "ranks", "refs", "vocab")

    def __init__(self, as_of: float, vocab: dict[str, int]):
        self.as_of = np.float64(as_of)
        self.vocab = vocab
        self.n = 0
        self.lo = 0
        self.hi = 0
        self.refs: dict[str, V] = {}
        self.pre: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}  # portfolio results for the whole batch
        self.ranks: dict[tuple[str, ...], tuple[FloatArr, BoolArr]] = {}

    def rank_lut(self, values: tuple[str, ...]) -> tuple[FloatArr, BoolArr]:
        lut = self.ranks.get(values)
        if lut is None:
            size = len(self.vocab) + 1
            v = np.zeros(size, dtype=np.float64)
            k = np.zeros(size, dtype=np.bool_)
            for i, s in enumerate(values):
                code = self.vocab.get(s)
                if code is not None:
                    v[code] = i + 1
                    k[code] = True
            lut = self.ranks[values] = (v, k)
        return lut


Op = Callable[[_Ctx], V]


def _full(x: Any, n: int) -> NDArray[Any]:
    a = np.asarray(x)
    return a if a.shape == (n,) else np.broadcast_to(a, (n,))


def _slice(v: V, lo: int, hi: int) -> V:
    if isinstance(v, _Num):
        return _Num(v.v[lo:hi], None if v.k is None else v.k[lo:hi])
    if isinstance(v, _Str):
        return _Str(v.c[lo:hi])
    if isinstance(v, _Bool):
        return _Bool(v.t[lo:hi], v.f[lo:hi])
    return v


def _store(dst: tuple[NDArray[Any], BoolArr], v: V, sl: slice, n: int) -> None:
    vals, known = dst
    if isinstance(v, _Num):
        vals[sl] = _full(v.v, n)
        known[sl] = True if v.k is None else _full(v.k, n)
    elif isinstance(v, _Str):
        c = _full(v.c, n)
        vals[sl] = c
        known[sl] = c >= 0
    elif isinstance(v, _Bool):
        vals[sl] = _full(v.t, n)
        known[sl] = _full(v.t | v.f, n)
    else:
        known[sl] = False
