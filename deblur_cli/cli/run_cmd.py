"""Placeholder until the `run` command lands (being written now)."""


def register(app) -> None:
    pass
