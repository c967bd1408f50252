"""One settings object from the command line to the engine, with its defaults in one place.

Read from the source with ``ast`` over ``deblur_cli/``, ``tools/`` and ``benchmarks/``:

- every ``Restorer(...)`` gets a network, a spec and a ``RestoreSettings`` (positionally or as ``settings=``), and
  no loose setting such as ``tile=`` or ``ensemble=``;
- every ``load_model(...)`` / ``restore_file(...)`` passes settings only as ``settings=``;
- no function, dataclass field or ``add_argument`` outside ``inference/settings.py`` writes a literal default for a
  restore setting (``ensemble=1`` beside `deblur`'s 2 is how two commands came to measure different things): the
  knobs only restoring has anywhere, and inside ``inference/`` also device, precision, tile and the rest.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from deblur_cli.inference.settings import DEFAULTS, SINGLE_PASS, RestoreSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = ROOT / "deblur_cli" / "inference" / "settings.py"
FIELDS = {f.name for f in dataclasses.fields(RestoreSettings)}
ONLY_RESTORING = {"ensemble", "strength", "tile_mode", "stats_source", "stats_passes"}  # no other meaning anywhere
RESTORING_LAYER = ROOT / "deblur_cli" / "inference"  # where device, precision, tile, ... mean restore settings too
ENTRY_POINTS = {"Restorer": {"name", "weights_path", "settings"}, "load_model": {"weights", "settings"},
                "restore_file": {"model", "weights", "settings", "quality", "max_pixels", "restorer"}}


def scanned_files() -> list[Path]:
    return sorted(path for folder in ("deblur_cli", "tools", "benchmarks") for path in (ROOT / folder).rglob("*.py"))


def _called(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def loose_settings(source: str) -> list[str]:
    """Calls of the restoring entry points that pass settings other than as one RestoreSettings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _called(node) not in ENTRY_POINTS:
            continue
        name = _called(node)
        loose = sorted(k.arg for k in node.keywords if k.arg is None or k.arg not in ENTRY_POINTS[name])
        if loose:
            found.append(f"{node.lineno}: {name}(..., {', '.join(map(str, loose))}=...)")
        if name == "Restorer" and len(node.args) + ("settings" in {k.arg for k in node.keywords}) != 3:
            found.append(f"{node.lineno}: Restorer(...) without its settings object")
    return found


def literal_defaults(source: str, names: set[str]) -> list[str]:
    """Parameters, class fields and ``add_argument("--name", default=...)`` that give one of ``names`` a literal."""
    found = []

    def check(name: str | None, default: ast.expr | None, line: int) -> None:
        if name in names and isinstance(default, ast.Constant):
            found.append(f"{line}: {name} = {default.value!r}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            positional = node.args.posonlyargs + node.args.args
            for arg, default in zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults):
                check(arg.arg, default, arg.lineno)
            for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults):
                check(arg.arg, default, arg.lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    check(item.target.id, item.value, item.lineno)
        elif isinstance(node, ast.Call) and _called(node) == "add_argument" and node.args:
            flag = node.args[0].value if isinstance(node.args[0], ast.Constant) else ""
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            check(str(flag).lstrip("-").replace("-", "_"), default, node.lineno)
    return found


def test_every_caller_passes_one_settings_object():
    found = [f"{p.relative_to(ROOT)}:{hit}" for p in scanned_files() for hit in loose_settings(p.read_text("utf-8"))]
    assert not found, "pass a RestoreSettings (settings=...):\n" + "\n".join(found)


def test_restore_defaults_live_in_settings_only():
    found = []
    for path in scanned_files():
        if path == SETTINGS_MODULE:
            continue
        names = FIELDS if RESTORING_LAYER in path.parents else ONLY_RESTORING
        found += [f"{path.relative_to(ROOT)}:{hit}" for hit in literal_defaults(path.read_text("utf-8"), names)]
    assert not found, "take the default from inference.settings (DEFAULTS, SINGLE_PASS):\n" + "\n".join(found)


def test_deblur_and_the_scoring_tools_differ_only_where_said():
    assert (DEFAULTS.ensemble, DEFAULTS.tile, DEFAULTS.compile) == (2, "auto", "auto")
    assert dataclasses.replace(SINGLE_PASS, ensemble=DEFAULTS.ensemble, tile=DEFAULTS.tile,
                               compile=DEFAULTS.compile) == DEFAULTS


def test_restorer_refuses_anything_but_the_settings_object():
    from torch import nn

    from deblur_cli import registry
    from deblur_cli.inference.engine import Restorer

    with pytest.raises(TypeError):
        Restorer(nn.Identity(), registry.get("bag-compact"), {"tile": "0"})
    restorer = Restorer(nn.Identity(), registry.get("bag-compact"), dataclasses.replace(SINGLE_PASS, device="cpu"))
    assert restorer.settings.ensemble == 1 and restorer.tile == 0


# --- the checkers themselves, on synthetic sources ---------------------------------------------------------------

def test_checker_catches_the_old_keyword_calls():
    old = ("def load(net, spec):\n"
           "    a = Restorer(net, spec, device='cpu', tile='0')\n"
           "    return a, load_model('bag', device='cpu', ensemble=1)\n")
    assert loose_settings(old) == ["2: Restorer(..., device, tile=...)", "2: Restorer(...) without its settings object",
                                   "3: load_model(..., device, ensemble=...)"]
    new = "def load(net, spec, s):\n    return Restorer(net, spec, s, name='x'), load_model('bag', settings=s)\n"
    assert loose_settings(new) == []


def test_checker_catches_literal_defaults_but_not_named_ones():
    old = ("def score_set(variant, name, ensemble: int = 1, *, strength=1.0):\n    pass\n"
           "class Options:\n    tile_mode: str = 'plain'\n"
           "ap.add_argument('--ensemble', type=int, default=2)\n")
    assert literal_defaults(old, ONLY_RESTORING) == ["1: ensemble = 1", "1: strength = 1.0", "4: tile_mode = 'plain'",
                                                     "5: ensemble = 2"]
    new = ("def score_set(variant, name, ensemble: int = SINGLE_PASS.ensemble, device='cpu'):\n    pass\n"
           "ap.add_argument('--ensemble', type=int, default=DEFAULTS.ensemble)\n")
    assert literal_defaults(new, ONLY_RESTORING) == []
    assert literal_defaults(new, FIELDS) == ["1: device = 'cpu'"]
