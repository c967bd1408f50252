"""The `deblur` command: a thin Typer layer over library functions.

`deblur photo.jpg ...` is shorthand for `deblur run photo.jpg ...`: ``main`` inserts `run` when the first
argument is not a sub-command, so the common case needs no verb. Command modules import torch only inside
their functions, which keeps `deblur --help` fast.
"""

from __future__ import annotations

import sys

import typer

from .. import __version__
from . import bench_cmd, eval_cmd, models_cmd, photos_cmd, run_cmd, synth_cmd, train_cmd

app = typer.Typer(
    name="deblur",
    help="Remove motion blur from photos with the generators of published GAN deblurring papers.\n\n"
    "Examples:  deblur photo.jpg -m bag   |   deblur shots/ -o sharp/   |   "
    "deblur eval --dataset synthetic -m bag,deblurgan",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

run_cmd.register(app)
app.add_typer(models_cmd.app, name="models")
app.add_typer(train_cmd.app, name="train")
eval_cmd.register(app)
bench_cmd.register(app)
synth_cmd.register(app)
photos_cmd.register(app)


def _version_callback(value: bool) -> None:
    if value:
        print(f"deblur {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Remove motion blur from photos."""


SUBCOMMANDS = {"run", "models", "train", "eval", "bench", "synth", "photos"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in SUBCOMMANDS | {"-h", "--help", "--version"}:
        args.insert(0, "run")
    app(args=args, prog_name="deblur")


if __name__ == "__main__":
    main()
