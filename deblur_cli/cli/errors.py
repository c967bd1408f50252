"""The one place that turns known exceptions into a short message (traceback only with --debug)."""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


from ..errors import DeblurError, UsageError

__all__ = ["DeblurError", "UsageError", "friendly_errors", "set_debug"]


def _is_debug() -> bool:
    return os.environ.get("DEBLUR_DEBUG", "") not in ("", "0")


def set_debug(on: bool) -> None:
    if on:
        os.environ["DEBLUR_DEBUG"] = "1"


def friendly_errors(func: F) -> F:
    """Wrap a command: known errors print `error: ...` and exit 1 (2 for usage errors)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (DeblurError, FileNotFoundError, PermissionError, KeyError, ValueError) as exc:
            if _is_debug():
                raise
            code = 2 if isinstance(exc, UsageError) else 1
            msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            print(f"error: {msg}", file=sys.stderr)
            raise SystemExit(code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]
