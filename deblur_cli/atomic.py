"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every writer in the package that replaces a file goes through ``atomic_path``: it creates a fresh temporary file
beside the target, lets the caller write it, and renames it over the target in one ``os.replace`` (atomic on POSIX
and Windows when both names are in one folder). The temporary name is ``.<name>.<random>.tmp``, created with
``O_EXCL``, so two processes writing the same target never share a temporary file (the last rename wins, whole);
it starts with a dot, so folder scans skip it (``images.paths``). On an error, or Ctrl-C, the temporary file is
removed and the target is left as it was.

No torch here: this is the bottom layer, used by image, weights, training and evaluation writers alike.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_bytes_atomically", "write_text_atomically"]

_ATTEMPTS = 100  # fresh random names to try before giving up (each collision is 1 in 2**48)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary file beside ``path`` (its folder is created); write it by name, and on a clean
    exit it replaces ``path``. A new file gets the mode an ordinary ``open`` would give it, a replaced one keeps
    the old file's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(path)
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomically(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)


def _create_beside(path: Path) -> Path:
    """A new empty file ``.<name>.<random>.tmp`` in ``path``'s folder, created exclusively (mode 0o666 less the
    umask, like ``open``; ``tempfile.mkstemp`` would make it 0o600)."""
    for _ in range(_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path}: no free temporary name beside it after {_ATTEMPTS} tries")
