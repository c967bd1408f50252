"""``weights_manifest.json``: which variants have weights, where they are, and how they were made.

Shape: ``{"format": 1, "variants": {name: entry}}`` with one entry per registered generator variant.
An entry always has ``architecture`` (the family), ``preset`` and ``status`` (``"untrained"`` until
real weights exist, ``"rejected"`` when a trained run was measured and not shipped). A trained entry adds ``sha256``, ``bytes``, ``dtype`` and at least one place to get
the file: ``bundled`` (a path relative to the repository root, e.g.
``deblur_cli/weights/bag-compact.safetensors``, shipped in the wheel as package data) and/or ``hub``
(``{repo_id, filename, revision}``); plus ``training`` (recipe, steps, wall time, hardware, command) and
``metrics`` (what ``deblur eval`` measured).

The file sits at the repository root; ``deblur_cli/weights_manifest.json`` is a symlink to it, so an
installed wheel carries a copy as package data. Bundled paths resolve against the folder that holds the
``deblur_cli`` package, which is the repository root in a checkout and ``site-packages`` once installed.
Pure JSON reading: no torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .. import registry
from .errors import ManifestError
from ..atomic import write_bytes_atomically
from .io import read_metadata, sha256_file

FORMAT = 1
# "rejected": a run was trained and measured but its weights are not shipped (they did not beat the input);
# the entry keeps the training record and the measurements so the attempt is not repeated blindly.
STATUSES = ("untrained", "trained", "rejected")
BUNDLED_FILE_LIMIT = 10 * 1024 * 1024  # bytes per bundled weights file, so the wheel stays small
PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT = PACKAGE_DIR.parent  # bundled paths are relative to this


@dataclass(frozen=True)
class HubRef:
    """Where ``hf_hub_download`` finds a file. ``revision`` should be a commit hash for reproducibility."""

    repo_id: str
    filename: str
    revision: str = "main"


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    architecture: str
    preset: str
    status: str = "untrained"
    bundled: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    dtype: str | None = None
    hub: HubRef | None = None
    training: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def trained(self) -> bool:
        return self.status == "trained"


@dataclass(frozen=True)
class Manifest:
    entries: Mapping[str, WeightsEntry]
    path: Path | None = None
    root: Path = ROOT

    def get(self, name: str) -> WeightsEntry | None:
        return self.entries.get(name)

    def bundled_path(self, entry: WeightsEntry) -> Path | None:
        """The bundled file's location on disk (it may be missing: see ``resolve``)."""
        return self.root / entry.bundled if entry.bundled else None


def manifest_path() -> Path:
    """The package-data copy (a symlink in a checkout) if present, else the repository root's file."""
    packaged = PACKAGE_DIR / "weights_manifest.json"
    return packaged if packaged.exists() else ROOT / "weights_manifest.json"


def load_manifest(path: str | os.PathLike | None = None, root: Path = ROOT) -> Manifest:
    """Parse and validate the manifest; ``root`` is where its bundled paths start."""
    path = Path(path) if path is not None else manifest_path()
    raw = read_raw(path)
    entries = {name: _entry_from_json(name, value, path) for name, value in raw["variants"].items()}
    return Manifest(entries=entries, path=path, root=root)


def update_entry(name: str, *, path: str | os.PathLike | None = None, **fields: Any) -> WeightsEntry:
    """Set ``fields`` on one variant's entry and rewrite the file atomically, keeping key order.

    Used by ``deblur train export``. A variant without an entry gets one from the registry. ``hub`` may be a
    ``HubRef`` or a dict; a field set to ``None`` is removed. The updated entry is validated before anything
    is written. Read, change and write happen under an exclusive lock, so two exports running at the same time
    both land.
    """
    target = (Path(path) if path is not None else manifest_path()).resolve()  # write the file, not the symlink
    with _exclusive_lock(target):
        return _update_locked(target, name, fields)


def start_manifest(path: str | os.PathLike) -> None:
    """Make sure ``path`` is a manifest that ``update_entry`` can change: a missing file becomes an empty one.

    Exports to a scratch folder (``deblur train export --weights-dir DIR --manifest DIR/m.json``) start their own
    manifest, and a manifest that cannot be read fails here, before any weights file is written.
    """
    target = Path(path).resolve()
    if not target.exists():
        empty = json.dumps({"format": FORMAT, "variants": {}}, indent=2) + "\n"
        write_bytes_atomically(target, empty.encode("utf-8"))
    read_raw(target)


def _update_locked(target: Path, name: str, fields: Mapping[str, Any]) -> WeightsEntry:
    raw = read_raw(target)
    entry = raw["variants"].get(name)
    if entry is None:
        entry = registry_entry(name)
        raw["variants"][name] = entry
    for key, value in fields.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = _to_json(value)
    checked = _entry_from_json(name, entry, target)
    write_bytes_atomically(target, (json.dumps(raw, indent=2) + "\n").encode("utf-8"))
    return checked


@contextlib.contextmanager
def _exclusive_lock(target: Path):
    """flock on a lock file in the temp folder, one per manifest path.

    Not the manifest itself: ``write_bytes_atomically`` replaces that file, so a lock on it would guard an inode
    that is no longer the manifest. Not beside it either, so a checkout gains no stray file. Where
    ``fcntl`` is missing (Windows) updates are unlocked, as before.
    """
    try:
        import fcntl  # here: POSIX only; elsewhere the manifest is written without a lock
    except ImportError:
        yield
        return
    key = hashlib.sha256(str(target).encode("utf-8")).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"deblur-manifest-{key}.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def registry_entry(name: str) -> dict[str, Any]:
    """The minimal entry for a registered generator variant: family, preset, no weights yet."""
    spec = registry.get(name)
    if spec.kind != "generator":
        raise ManifestError(f"{name!r} is a {spec.kind}; the weights manifest lists generators only")
    return {"architecture": spec.family, "preset": spec.preset, "status": "untrained"}


def weights_file_fields(file: str | os.PathLike, root: Path = ROOT) -> dict[str, Any]:
    """``bundled``, ``sha256``, ``bytes`` and ``dtype`` describing a bundled weights file, for ``update_entry``."""
    file = Path(file).resolve()
    try:
        rel = file.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ManifestError(f"{file}: a bundled weights file must lie inside {root}") from None
    return {"bundled": rel, "sha256": sha256_file(file), "bytes": file.stat().st_size,
            "dtype": read_metadata(file).get("dtype", "fp32")}


def read_raw(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: weights manifest not found") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("variants"), dict):
        raise ManifestError(f'{path}: expected {{"format": {FORMAT}, "variants": {{...}}}}')
    return raw


def _entry_from_json(name: str, value: Any, path: Path) -> WeightsEntry:
    where = f"{path}: variant {name!r}"
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: entry must be an object")
    missing = [k for k in ("architecture", "preset", "status") if k not in value]
    if missing:
        raise ManifestError(f"{where}: missing {', '.join(missing)}")
    if value["status"] not in STATUSES:
        raise ManifestError(f"{where}: status must be one of {', '.join(STATUSES)}, not {value['status']!r}")
    hub = value.get("hub")
    if hub is not None:
        if not isinstance(hub, dict) or not {"repo_id", "filename"} <= hub.keys():
            raise ManifestError(f"{where}: hub needs repo_id and filename")
        hub = HubRef(hub["repo_id"], hub["filename"], hub.get("revision", "main"))
    if value["status"] == "trained":
        if not value.get("sha256"):
            raise ManifestError(f"{where}: a trained entry needs sha256")
        if not value.get("bundled") and hub is None:
            raise ManifestError(f"{where}: a trained entry needs bundled and/or hub")
    known = {f for f in WeightsEntry.__dataclass_fields__ if f != "name"}
    return WeightsEntry(name=name, **{k: v for k, v in value.items() if k in known and k != "hub"}, hub=hub)


def _to_json(value: Any) -> Any:
    if isinstance(value, HubRef):
        return {"repo_id": value.repo_id, "filename": value.filename, "revision": value.revision}
    if isinstance(value, Path):
        return value.as_posix()
    return value
