"""A user's mistake is one line and exit 2 (1 for a file or data problem); a bug keeps its traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deblur_cli.cli.app import app
from deblur_cli.cli.errors import friendly_errors
from deblur_cli.errors import ConfigError, DeblurError, ImageSizeError, UsageError


def _raising(exc: BaseException):
    @friendly_errors
    def command() -> None:
        raise exc

    return command


@pytest.mark.parametrize("exc, code, line", [
    (UsageError("--tile must be auto, 0 or a number of pixels, not 'x'"), 2,
     "error: --tile must be auto, 0 or a number of pixels, not 'x'"),
    (ConfigError("a.toml: [data] batch: must be >= 1"), 1, "error: a.toml: [data] batch: must be >= 1"),
    (ImageSizeError("SSIM needs images of at least 11x11 pixels, got 8x8"), 1,
     "error: SSIM needs images of at least 11x11 pixels, got 8x8"),
    (FileNotFoundError(2, "No such file or directory", "missing.png"), 1, "error: missing.png: No such file or directory"),
    (PermissionError(13, "Permission denied", "/root/out"), 1, "error: /root/out: Permission denied"),
])
def test_known_errors_are_one_line_with_their_exit_code(exc, code, line, capsys, monkeypatch):
    monkeypatch.delenv("DEBLUR_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        _raising(exc)()
    assert info.value.code == code
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize("exc", [ValueError("expected an HxWx3 array"), KeyError("weights"), TypeError("x"),
                                 RuntimeError("no statistics recorded")])
def test_other_exceptions_are_bugs_and_propagate(exc, capsys, monkeypatch):
    monkeypatch.delenv("DEBLUR_DEBUG", raising=False)
    with pytest.raises(type(exc)):
        _raising(exc)()
    assert "error:" not in capsys.readouterr().err


def test_debug_keeps_the_traceback_of_a_known_error(monkeypatch):
    monkeypatch.setenv("DEBLUR_DEBUG", "1")
    with pytest.raises(UsageError):
        _raising(UsageError("bad option"))()


def test_library_errors_for_user_input_are_deblur_errors_and_keep_their_old_type():
    assert issubclass(ImageSizeError, DeblurError) and issubclass(ImageSizeError, ValueError)


def test_a_bad_option_through_the_cli_is_one_line_and_exit_2():
    out = CliRunner().invoke(app, ["eval", "-m", "bag-compact", "--dataset", "synthetic", "--n", "1",
                                   "--crop-border", "-3"])
    assert out.exit_code == 2
    assert out.output.strip().splitlines() == ["error: --crop-border must be 0 or more pixels, not -3"]


def test_a_bad_model_override_in_a_config_is_one_line_and_exit_1(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('extends = "cpu/bag-compact"\n[model]\nvariant = "bag-compact"\n'
                      'overrides = {residual = "zzz"}\n', encoding="utf-8")
    out = CliRunner().invoke(app, ["train", "--config", str(config), "--max-steps", "1",
                                   "--run-dir", str(tmp_path / "run")])
    assert out.exit_code == 1, out.output
    assert "[model] overrides do not fit bag-compact: residual must be 'multi' or 'one'" in out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1


def test_an_internal_value_error_is_not_disguised_as_a_user_error(monkeypatch):
    from deblur_cli.eval import eval_sets

    def broken(*args, **kwargs):
        raise ValueError("internal: a bug, not the user's mistake")

    monkeypatch.setattr(eval_sets, "open_dataset", broken)
    out = CliRunner().invoke(app, ["eval", "-m", "bag-compact", "--dataset", "synthetic", "--n", "1"])
    assert out.exit_code != 0
    assert isinstance(out.exception, ValueError)  # raised through, so the real traceback prints
    assert "error:" not in out.output
