"""The shipped training presets: which there are, where each file is, and what a file resolves to.

A preset is a ``.toml`` file under ``deblur_cli/configs``; its name is its path there without the suffix
(``004-table1-bag``, ``cpu/bag-compact``); files whose name starts with ``_`` are shared bases. A file may
``extends = "<preset>"`` (or ``"./other.toml"``): tables merge key by key, arrays replace the parent's.

Core layer: no torch, and nothing about training itself (``train.config`` validates what this reads), so
``weights`` can name the preset that trains a variant without importing ``train``.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from .errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def list_presets() -> list[str]:
    """Every preset name, sorted (shared bases, whose names start with ``_``, are not presets)."""
    return sorted(p.relative_to(CONFIG_DIR).with_suffix("").as_posix() for p in CONFIG_DIR.rglob("*.toml")
                  if not p.name.startswith("_"))


def presets_for_variant(variant: str) -> list[str]:
    """Presets that train ``variant`` (e.g. ``bag-compact`` -> ``["cpu/bag-compact"]``), for hints like
    "train it: deblur train --preset ..."."""
    found = []
    for name in list_presets():
        raw = resolve_file(CONFIG_DIR / f"{name}.toml")
        if isinstance(raw.get("model"), dict) and raw["model"].get("variant") == variant:
            found.append(name)
    return found


def preset_path(name: str) -> Path:
    path = CONFIG_DIR / f"{name.removesuffix('.toml')}.toml"
    if not path.is_file() or ".." in Path(name).parts:
        close = difflib.get_close_matches(name, list_presets(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `deblur train --list` lists them"
        raise ConfigError(f"unknown preset {name!r}{hint}")
    return path


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def merge_tables(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge_tables(out[key], value) if both else value
    return out


def resolve_file(path: Path, seen: tuple = ()) -> dict:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: `extends` loops back to itself")
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a preset name or a .toml path")
    parent_path = (path.parent / parent) if parent.endswith(".toml") else CONFIG_DIR / f"{parent}.toml"
    if not parent_path.is_file():
        raise ConfigError(f"{path}: extends {parent!r}: no such config ({parent_path})")
    return merge_tables(resolve_file(parent_path, seen + (path,)), raw)
