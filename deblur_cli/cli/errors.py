"""The one place that turns a user's mistake into a short message (traceback only with --debug).

Only the project's own exceptions (:class:`DeblurError` and its subclasses) and a file that cannot be opened
(:class:`FileNotFoundError`, :class:`PermissionError`, named by its path) become ``error: <message>``: exit 2
for a :class:`UsageError` (wrong arguments or options), 1 for the rest. Any other exception, a ``ValueError``
or ``KeyError`` among them, is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


from ..errors import DeblurError, UsageError

__all__ = ["DeblurError", "UsageError", "friendly_errors", "message_of", "set_debug"]


def _is_debug() -> bool:
    return os.environ.get("DEBLUR_DEBUG", "") not in ("", "0")


def set_debug(on: bool) -> None:
    if on:
        os.environ["DEBLUR_DEBUG"] = "1"


def message_of(exc: BaseException) -> str:
    """One line for the user: a file error as ``<path>: <reason>``, anything else as its text."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def friendly_errors(func: F) -> F:
    """Wrap a command: known errors print `error: ...` and exit 1 (2 for usage errors); others propagate."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (DeblurError, FileNotFoundError, PermissionError) as exc:
            if _is_debug():
                raise
            print(f"error: {message_of(exc)}", file=sys.stderr)
            raise SystemExit(2 if isinstance(exc, UsageError) else 1) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]
