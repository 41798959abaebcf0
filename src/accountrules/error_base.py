"""The base class of every accountrules error, apart from :mod:`accountrules.errors` so that
:mod:`accountrules.i18n` (which :mod:`accountrules.errors` imports) can raise one too.
Import it from :mod:`accountrules.errors` or the package root."""

from __future__ import annotations

from typing import Any

__all__ = ["AccountRulesError"]


class AccountRulesError(Exception):
    """Base class of every error raised by accountrules.

    Every error pickles and deep-copies to an equal one (same type, message and attributes), so it
    crosses a process pool: a worker's ``AccountValidationError`` reaches the caller as itself.
    """

    __module__ = "accountrules.errors"  # where users import it from (and the API reference shows it)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls cls(*self.args) on the other side, which fails for every subclass
        # whose __init__ takes other arguments than its message (a failed unpickle breaks a whole
        # ProcessPoolExecutor); rebuilt from its args and attributes instead, without running __init__
        return (_restore_error, (type(self), self.args), self.__dict__)


def _restore_error(cls: type[AccountRulesError], args: tuple[Any, ...]) -> AccountRulesError:
    err = cls.__new__(cls)
    err.args = args
    return err
