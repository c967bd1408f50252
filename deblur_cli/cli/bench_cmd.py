"""Placeholder until the `bench` command lands (being written now)."""


def register(app) -> None:
    pass
