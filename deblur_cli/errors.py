"""Exceptions whose message is meant for the user as it is: one line that names the file and the reason.

The CLI (``cli/errors.py``) prints these as ``error: <message>`` and exits 2 for a :class:`UsageError`, 1 for the
rest; any other exception is a bug and keeps its traceback. Where one of these replaces a built-in exception that
the library raised before for the same condition, it also derives from that one (``ImageSizeError`` is a
``ValueError``), so a caller that caught the old type still does.
"""


class DeblurError(Exception):
    """A known failure; the CLI prints `error: <message>` without a traceback (unless --debug)."""


class UsageError(DeblurError):
    """Wrong arguments or options: the CLI exits with code 2."""


class ConfigError(DeblurError):
    """A config file that cannot be used; the message names the file and the key."""


class ImageSizeError(DeblurError, ValueError):
    """An image too small for what was asked of it: a metric's window, or a border to ignore."""
