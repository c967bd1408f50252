"""Bring weights_manifest.json in line with the registry: ``python -m deblur_cli.weights.sync``.

Every registered generator gets an entry (``untrained`` when new), in registry order; ``architecture`` and
``preset`` are refreshed from the registry; everything else an entry holds (weights, training, metrics) is
kept. Entries for variants that are no longer registered are kept too and reported, because they may
describe real weights that someone should look at before deleting.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import registry
from ..atomic import write_bytes_atomically
from .manifest import manifest_path, read_raw, registry_entry


def sync(path: Path | None = None) -> list[str]:
    """Rewrite the manifest if needed; return one line per change or problem."""
    target = (path or manifest_path()).resolve()
    raw = read_raw(target)
    old = raw["variants"]
    notes: list[str] = []
    variants: dict[str, dict] = {}
    for name in registry.names("generator"):
        fresh = registry_entry(name)
        entry = old.get(name)
        if entry is None:
            notes.append(f"added {name}")
            variants[name] = fresh
            continue
        for key in ("architecture", "preset"):
            if entry.get(key) != fresh[key]:
                notes.append(f"{name}: {key} {entry.get(key)!r} -> {fresh[key]!r}")
                entry[key] = fresh[key]
        variants[name] = entry
    for name, entry in old.items():
        if name not in variants:
            notes.append(f"{name}: not a registered generator any more (entry kept)")
            variants[name] = entry
    if [n for n in variants if n in old] != list(old):
        notes.append("reordered to registry order")
    raw["variants"] = variants
    text = json.dumps(raw, indent=2) + "\n"
    if text != target.read_text(encoding="utf-8"):
        write_bytes_atomically(target, text.encode("utf-8"))
    return notes


if __name__ == "__main__":
    changes = sync(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print("\n".join(changes) if changes else "weights_manifest.json is in sync with the registry")
