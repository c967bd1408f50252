"""The free photographs that `deblur photos fetch` brings from Debian's archive, and how they are checked.

``photo_sources.json`` (beside this file) lists each photo: the Debian package and version that holds it, the
package's path in the archive's pool and its sha256, the photo's path inside the package and its sha256, its
licence and copyright holder (from the package's ``usr/share/doc/<package>/copyright``), a few words on what it
shows, and its split. Splits hold out whole photos, never crops of a training photo: ``train``, ``val`` (the
fixed validation photos) and ``excluded`` (listed so that nobody adds them again without reading why).

A ``.deb`` is an ``ar`` archive whose ``data.tar.xz`` holds the files; both are read with the standard library,
so fetching needs neither ``apt`` nor ``dpkg`` and works on any system with Python.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from ..atomic import write_bytes_atomically
from ..errors import DeblurError

SOURCES_FILE = Path(__file__).with_name("photo_sources.json")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SPLITS = ("train", "val", "excluded")


class PhotoFetchError(DeblurError):
    """A package or photo could not be fetched or did not match its recorded sha256."""


@dataclass(frozen=True)
class PhotoSource:
    name: str
    package: str
    version: str
    deb: str  # path of the .deb under the mirror's root (Debian's "Filename" field)
    deb_sha256: str
    path: str  # inside the package
    sha256: str
    licence: str
    copyright: str
    content: str
    split: str
    why: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}{Path(self.path).suffix.lower()}"


def load_sources(path: str | os.PathLike = SOURCES_FILE) -> list[PhotoSource]:
    try:
        doc = json.loads(Path(path).read_text())
        sources = [PhotoSource(**entry) for entry in doc["photos"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PhotoFetchError(f"{path}: not a photo source list ({exc})") from None
    for s in sources:
        if s.split not in SPLITS:
            raise PhotoFetchError(f"{path}: {s.name}: split must be one of {', '.join(SPLITS)}, not {s.split!r}")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise PhotoFetchError(f"{path}: photo names must be unique")
    return sources


def sha256_of(data_or_path: bytes | os.PathLike) -> str:
    if isinstance(data_or_path, bytes):
        return hashlib.sha256(data_or_path).hexdigest()
    h = hashlib.sha256()
    with open(data_or_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _ar_members(fh: BinaryIO) -> Iterable[tuple[str, bytes]]:
    """(name, data) of each member of an ``ar`` archive (the container of a .deb)."""
    if fh.read(8) != b"!<arch>\n":
        raise ValueError("not an ar archive")
    while True:
        header = fh.read(60)
        if len(header) < 60:
            return
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        data = fh.read(size)
        if size % 2:
            fh.read(1)
        yield name, data


def extract_from_deb(deb: Path, wanted: set[str]) -> dict[str, bytes]:
    """The files at ``wanted`` paths (as in the package, without a leading "./") inside ``deb``'s data archive."""
    try:
        with open(deb, "rb") as fh:
            for name, data in _ar_members(fh):
                if not name.startswith("data.tar"):
                    continue
                if name.endswith(".xz"):
                    data = lzma.decompress(data)
                elif not name.endswith(".tar"):
                    raise ValueError(f"{name}: unsupported compression (xz and plain tar are read)")
                found = {}
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                    for member in tar:
                        path = member.name.removeprefix("./")
                        if path in wanted and member.isfile():
                            found[path] = tar.extractfile(member).read()
                return found
    except (OSError, ValueError, tarfile.TarError, lzma.LZMAError) as exc:
        raise PhotoFetchError(f"{deb}: cannot read the package ({exc})") from None
    raise PhotoFetchError(f"{deb}: the package has no data archive")


def _download(url: str, dest: Path, expected_sha256: str, what: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PhotoFetchError(f"{what}: cannot download {url} ({reason})") from None
    got = sha256_of(data)
    if got != expected_sha256:
        raise PhotoFetchError(f"{what}: {url} has sha256 {got[:12]}..., expected {expected_sha256[:12]}... "
                              "(another version of the package? the list names the one it was checked with)")
    write_bytes_atomically(dest, data)


def _local_deb(source: PhotoSource, debs_dir: Path) -> Path:
    """The package's .deb in ``debs_dir``: by its pool file name, or as `apt-get download` names it."""
    pool_name = Path(source.deb).name
    apt_name = f"{source.package}_{source.version.replace(':', '%3a')}_{pool_name.rsplit('_', 1)[-1]}"
    for name in (pool_name, apt_name):
        if (debs_dir / name).is_file():
            return debs_dir / name
    raise PhotoFetchError(f"{source.package} {source.version}: not in {debs_dir} (looked for {pool_name})")


@dataclass
class FetchReport:
    written: list[Path]
    kept: list[Path]  # already there with the right sha256


def fetch_photos(out: str | os.PathLike, sources: list[PhotoSource] | None = None,
                 splits: Iterable[str] = ("train", "val"), mirror: str = DEFAULT_MIRROR,
                 debs_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                 progress: Callable[[str], None] | None = None) -> FetchReport:
    """Put each photo of ``splits`` at ``out/<split>/<name>.<ext>``, verified against its sha256.

    Packages come from ``debs_dir`` when given (files from `apt-get download`), else from ``mirror`` into
    ``cache_dir`` (kept, so a second fetch downloads nothing). A package or photo whose sha256 differs from the
    list is an error, and nothing unverified is written. ``out/photos.json`` records the fetched photos with
    their licences and copyright holders (CC-BY asks for attribution wherever they are shown).
    """
    out = Path(out)
    splits = tuple(splits)
    chosen = [s for s in (sources if sources is not None else load_sources()) if s.split in splits]
    cache = Path(cache_dir) if cache_dir else _default_cache()
    report = FetchReport([], [])
    by_package: dict[tuple[str, str], list[PhotoSource]] = {}
    for s in chosen:
        target = out / s.split / s.filename
        if target.is_file() and sha256_of(target) == s.sha256:
            report.kept.append(target)
        else:
            by_package.setdefault((s.package, s.version), []).append(s)
    for (package, version), photos in by_package.items():
        first = photos[0]
        if debs_dir is not None:
            deb = _local_deb(first, Path(debs_dir))
            if sha256_of(deb) != first.deb_sha256:
                raise PhotoFetchError(f"{deb}: sha256 differs from the list's for {package} {version}")
        else:
            deb = cache / Path(first.deb).name
            if not (deb.is_file() and sha256_of(deb) == first.deb_sha256):
                if progress:
                    progress(f"downloading {package} {version}")
                _download(f"{mirror.rstrip('/')}/{first.deb}", deb, first.deb_sha256, f"{package} {version}")
        files = extract_from_deb(deb, {p.path for p in photos})
        for s in photos:
            data = files.get(s.path)
            if data is None:
                raise PhotoFetchError(f"{package} {version}: has no {s.path}")
            if sha256_of(data) != s.sha256:
                raise PhotoFetchError(f"{package} {version}: {s.path} has sha256 {sha256_of(data)[:12]}..., "
                                      f"expected {s.sha256[:12]}...")
            target = out / s.split / s.filename
            write_bytes_atomically(target, data)
            report.written.append(target)
            if progress:
                progress(f"{s.split}/{s.filename}")
    record = [{k: v for k, v in vars(s).items() if v} for s in chosen]
    write_bytes_atomically(out / "photos.json", (json.dumps({"photos": record}, indent=1, ensure_ascii=False) + "\n")
                      .encode())
    return report


def _default_cache() -> Path:
    base = Path(os.environ.get("DEBLUR_CACHE") or Path.home() / ".cache" / "deblur")
    return base / "debs"
