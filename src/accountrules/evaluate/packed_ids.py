"""Account ids held compactly: one UTF-8 buffer with offsets, and per ranked key an index into it.

Statistics of a key ranked with ties broken by account id hold the id of every ranked value
(``PortfolioStats.sorted_ids``). As Python ``str`` objects that costs about 56 bytes an id plus
an 8-byte reference per key; a portfolio of half a million accounts ranked on three such keys
held some 40 MB of them, for lookups that read a handful (``quantile(..., 'first')`` compares
ids only at its k - 1 bucket boundaries). Here the ids of a portfolio are one ``bytes`` buffer
(their UTF-8 text), one offset per id, shared by the keys, and each key holds only its own
order: a 4-byte index per value. An id is decoded when it is read.

Pure Python (``array`` and ``bytes``): no numpy is needed to read or unpickle one.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import overload

# surrogatepass: a Python str may hold lone surrogates; they must come back as they went in
_ERRORS = "surrogatepass"


def int_typecode(largest: int) -> str:
    """The ``array`` typecode of the smallest signed integer (4 or 8 bytes) that holds ``largest``."""
    return "i" if largest < 2**31 and array("i").itemsize == 4 else "q"


class PackedIds(Sequence[str]):
    """A read-only sequence of ids: ``ids[i]`` is the text ``data[offsets[j]:offsets[j + 1]]`` with
    ``j = index[i]`` (``index`` None: ``j = i``). Several sequences may share ``data`` and ``offsets``.
    The builder gives an ``index`` of valid positions (``0 <= j < len(offsets) - 1``): checking that here
    would cost a pass over it in Python for every key of every batch."""

    __slots__ = ("_data", "_index", "_offsets")

    def __init__(self, data: bytes, offsets: array[int], index: array[int] | None = None):
        if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(data):
            raise ValueError("offsets must run from 0 to the length of the data")
        self._data = data
        self._offsets = offsets
        self._index = index

    @classmethod
    def of(cls, ids: Sequence[str]) -> PackedIds:
        """The given ids, packed in their order."""
        encoded = [i.encode("utf-8", _ERRORS) for i in ids]
        offsets = array(int_typecode(sum(map(len, encoded))), [0])
        at = 0
        for e in encoded:
            at += len(e)
            offsets.append(at)
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1 if self._index is None else len(self._index)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        n = len(self)
        if not -n <= i < n:
            raise IndexError("id index out of range")
        j = (i + n if i < 0 else i) if self._index is None else self._index[i]
        return str(self._data[self._offsets[j]:self._offsets[j + 1]], "utf-8", _ERRORS)

    def __iter__(self) -> Iterator[str]:
        data, offsets = self._data, self._offsets
        for j in (range(len(offsets) - 1) if self._index is None else self._index):
            yield str(data[offsets[j]:offsets[j + 1]], "utf-8", _ERRORS)

    def __reduce__(self) -> tuple[type[PackedIds], tuple[bytes, array[int], array[int] | None]]:
        return PackedIds, (self._data, self._offsets, self._index)

    def __repr__(self) -> str:
        return f"PackedIds(<{len(self)} ids>)"


__all__ = ["PackedIds", "int_typecode"]
