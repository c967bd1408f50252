"""Placeholder until the `eval` command lands (being written now)."""


def register(app) -> None:
    pass
