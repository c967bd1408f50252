"""Placeholder until the `synth` command lands (being written now)."""


def register(app) -> None:
    pass
