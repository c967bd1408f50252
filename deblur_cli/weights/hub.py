"""Fetching published weights from a Hugging Face Hub repository into the Hub's own cache.

Everything goes through the real ``huggingface_hub`` client, so its settings apply: ``HF_ENDPOINT`` (a
mirror), ``HF_HOME`` / ``HF_HUB_CACHE`` (where files land), ``HF_HUB_OFFLINE`` (no network) and tokens.
The three environment variables are read at call time and passed on explicitly, because the library
reads them once at import. ``huggingface_hub`` itself is imported only when a hub file is involved.

Every downloaded file is checked against the manifest's sha256; a file that fails is deleted from the
cache (so the cache never claims a bad file) and reported, never loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .hints import train_command
from .errors import WeightsIntegrityError, WeightsUnavailableError
from .io import sha256_file
from .manifest import HubRef, Manifest, WeightsEntry, load_manifest

_TRUE = {"1", "true", "yes", "on"}


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def hub_cache_dir() -> str | None:
    """``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else None (the library's default, ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def describe(ref: HubRef) -> str:
    return f"{ref.repo_id}/{ref.filename}@{ref.revision}"


def cached_file(ref: HubRef) -> Path | None:
    """The file's path in the Hub cache if an earlier download put it there. No network."""
    from huggingface_hub import try_to_load_from_cache  # here: 0.6 s to import on a 2-core CPU, needed rarely

    found = try_to_load_from_cache(ref.repo_id, ref.filename, cache_dir=hub_cache_dir(), revision=ref.revision)
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def fetch_verified(ref: HubRef, sha256: str, force: bool = False) -> Path:
    """Download (or reuse) ``ref`` with ``hf_hub_download`` and check its sha256 before returning it."""
    if offline():
        raise WeightsUnavailableError(f"{describe(ref)} is not in the cache and HF_HUB_OFFLINE is set")
    from huggingface_hub import hf_hub_download  # here: only a download needs it (0.6 s to import)

    try:
        path = Path(hf_hub_download(ref.repo_id, ref.filename, revision=ref.revision, cache_dir=hub_cache_dir(),
                                    endpoint=endpoint(), force_download=force))
    except Exception as exc:  # network boundary: every failure means "not available"; --debug shows the cause
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())[:300]
        reason = reason or type(exc).__name__
        raise WeightsUnavailableError(f"could not download {describe(ref)}: {reason}") from exc
    actual = sha256_file(path)
    if actual != sha256:
        _discard(path)
        raise WeightsIntegrityError(
            f"{describe(ref)}: downloaded file has sha256 {actual[:12]}..., the manifest expects {sha256[:12]}...; "
            "it was deleted from the cache and not loaded")
    return path


@dataclass(frozen=True)
class DownloadResult:
    variant: str
    path: Path
    action: str  # "downloaded" | "present" (already cached and verified) | "bundled" (ships with the package)


def download(name: str, manifest: Manifest | None = None, force: bool = False) -> DownloadResult:
    """``deblur models download NAME``: make ``name``'s published weights available locally."""
    manifest = manifest or load_manifest()
    entry = _trained_entry(name, manifest)
    bundled = manifest.bundled_path(entry)
    if not force and bundled is not None and bundled.is_file():
        return DownloadResult(name, bundled, "bundled")
    if entry.hub is None:
        where = f"its bundled file {entry.bundled} is missing and " if entry.bundled else ""
        raise WeightsUnavailableError(f"{name}: {where}no hub repository is recorded in the manifest")
    if not force:
        cached = cached_file(entry.hub)
        if cached is not None:
            if sha256_file(cached) == entry.sha256:
                return DownloadResult(name, cached, "present")
            force = True  # a damaged cached copy: fetch it again
    return DownloadResult(name, fetch_verified(entry.hub, entry.sha256, force=force), "downloaded")


def _trained_entry(name: str, manifest: Manifest) -> WeightsEntry:
    entry = manifest.get(name)
    if entry is None or not entry.trained:
        raise WeightsUnavailableError(
            f"{name} has no trained weights yet, so there is nothing to download; train them with "
            f"`{train_command(name)}`")
    return entry


def _discard(path: Path) -> None:
    """Remove a bad download: the snapshot entry and, when it is a symlink, the blob it points to."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)
