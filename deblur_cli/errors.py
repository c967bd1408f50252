"""Exceptions whose message is meant for the user as it is: one line that names the file and the reason."""


class DeblurError(Exception):
    """A known failure; the CLI prints `error: <message>` without a traceback (unless --debug)."""


class UsageError(DeblurError):
    """Wrong arguments or options: the CLI exits with code 2."""


class ConfigError(DeblurError):
    """A config file that cannot be used; the message names the file and the key."""
