"""Placeholder until the `models` command group lands (being written now)."""

import typer

app = typer.Typer(help="(not yet available)")
