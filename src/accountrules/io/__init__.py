"""Tabular I/O shared by batch decisions and derived features.

* :mod:`~accountrules.io.formats`: which format a path names (suffix, compression) or ``--format`` says.
* :mod:`~accountrules.io.readers`: stream CSV / JSONL / Parquet chunk by chunk, unreadable rows kept in place.
* :mod:`~accountrules.io.text`: open a file as text (compression, encoding); a file whose bytes are wrong as a
  whole (not in its encoding, a UTF-8 byte-order mark under another, cut off) is a ``TableInputError``.
* :mod:`~accountrules.io.tables`: read a whole file into one Arrow table of chosen columns (order logs).
* :mod:`~accountrules.io.schema`: the flat output columns of a batch, their order and types.
* :mod:`~accountrules.io.writers`: write CSV / JSONL / Parquet chunk by chunk.
* :mod:`~accountrules.io.optional`: a missing pyarrow (or pandas) is a
  :class:`~accountrules.errors.MissingDependencyError` naming the extra to install.

This package knows nothing of policies, accounts or decisions beyond the compiled plan's
sections (for the output columns); ``batch`` and ``features`` build on it.
"""
