"""Plan a batch before touching a pixel: which files are inputs, and where each result goes.

Stateless functions over the file system as it is now (they list folders and stat files; they never write). A bad
argument spoils only itself: it becomes an item or job with a `problem` for the caller to report, and the batch goes
on. The rules, in the order they apply:

- inputs: files, folders (their images; `recursive` walks sub-folders and keeps each file's path relative to the
  folder; without it, `scan_inputs` lists the sub-folders left out that hold images, for the caller to mention), and
  glob patterns (expanded here too, for shells that do not). Folder and glob scans take only image
  extensions and skip hidden files (`.DS_Store`, macOS `._photo.jpg`, our own temporary `.name.*.tmp`); a file named
  explicitly with another extension is a problem for that file. The same file named twice (or reached through a
  link) is kept once, at its first position. Order: arguments as given; within a folder or glob, natural order
  (`img2` before `img10`).
- outputs: `-o DIR` mirrors each input's relative path under DIR, with its own file name; `-o FILE` (an image
  extension and one input) is that file; no `-o` writes beside the input as `<stem><suffix><ext>`. `ext` replaces
  the extension (`a.png` + `--ext png` -> `a_deblurred.png`, never `a.png.png`).
- no input is ever an output: a job whose output is an input file (compared by device and inode, so symlinks,
  hard links and case-insensitive file systems count) becomes a problem. Beside-input runs skip files that are
  outputs of an earlier run (another input's planned output, or a scanned file whose name ends in the suffix), so
  re-running over a folder resumes instead of deblurring results again; `-o DIR` runs skip scanned files inside DIR.
- name clashes (two inputs, one output name, compared case-insensitively): the first input whose extension already
  matches (else the first input) keeps the name, the others get their own extension added to the stem
  (`a.jpg` -> `a_jpg.png`); what that cannot separate (`x/p.jpg` and `y/p.jpg` into one folder) becomes a
  problem. Nothing silently overwrites another result.
- resuming: `should_skip` says why a job need not run (its output exists and overwrite is off, or it is an earlier
  output).
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from ..errors import UsageError

__all__ = [
    "FORMAT_BY_EXTENSION",
    "IMAGE_EXTENSIONS",
    "InputItem",
    "Inputs",
    "Job",
    "collect_inputs",
    "plan_outputs",
    "scan_inputs",
    "should_skip",
]

# Extensions we read and write, and the Pillow format each one means.
FORMAT_BY_EXTENSION = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
IMAGE_EXTENSIONS = frozenset(FORMAT_BY_EXTENSION)


@dataclass(frozen=True)
class InputItem:
    """One input: `rel` is where it sits below the folder or glob it was found through (its name when named)."""

    path: Path
    rel: PurePath
    explicit: bool = True  # named on the command line rather than found by scanning a folder or glob
    problem: str | None = None  # why this argument cannot be processed


@dataclass(frozen=True)
class Job:
    """Read `src`, write `dst`. A job with a `problem` is a failure to report; one with `skip` is left alone."""

    src: Path
    dst: Path | None
    problem: str | None = None
    skip: str | None = None


# ---------------------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    """What the arguments expand to: the input items, and the sub-folders holding images that were left out
    because `recursive` is off (each once, in the order found; not those of a folder reported as having no
    images, whose problem says so)."""

    items: list[InputItem]
    skipped_folders: list[Path]


def scan_inputs(args: list[str], recursive: bool = False) -> Inputs:
    """Expand command-line arguments into input items (see the module docstring for the rules)."""
    items: list[InputItem] = []
    skipped: list[Path] = []
    for arg in args:
        items.extend(_expand(arg, recursive, skipped))
    return Inputs(_deduplicate(items), _unique_folders(skipped))


def collect_inputs(args: list[str], recursive: bool = False) -> list[InputItem]:
    """The input items of ``scan_inputs``."""
    return scan_inputs(args, recursive).items


def _expand(arg: str, recursive: bool, skipped: list[Path]) -> list[InputItem]:
    path = Path(arg)
    if path.is_dir():
        left_out: list[Path] = []
        found = _scan_folder(path, recursive, base=path, skipped=left_out)
        if not found:
            hint = (f"; {_count(len(left_out), 'sub-folder')} with images: add --recursive to include them"
                    if left_out else "")
            return [InputItem(path, PurePath(path.name), True,
                              f"{arg}: no images ({_ext_list()}) in this folder{hint}")]
        skipped.extend(left_out)
        return found
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            return [InputItem(path, PurePath(path.name), True,
                              f"{arg}: not a supported image type ({path.suffix or 'no extension'}); "
                              f"supported: {_ext_list()}")]
        return [InputItem(path, PurePath(path.name))]
    if path.exists():
        return [InputItem(path, PurePath(path.name), True, f"{arg}: not a regular file")]
    if glob.has_magic(arg):
        return _expand_glob(arg, recursive, skipped)
    return [InputItem(path, PurePath(path.name), True, f"{arg}: no such file or folder")]


def _expand_glob(pattern: str, recursive: bool, skipped: list[Path]) -> list[InputItem]:
    base = _glob_base(pattern)
    found: list[InputItem] = []
    for match in sorted(glob.glob(pattern, recursive=True), key=natural_key):
        path = Path(match)
        if path.is_dir():
            found.extend(_scan_folder(path, recursive, base=base, skipped=skipped))
        elif path.is_file() and _is_visible_image(path):
            found.append(InputItem(path, _relative(path, base), explicit=False))
    if not found:
        return [InputItem(Path(pattern), PurePath(Path(pattern).name), True,
                          f"{pattern}: no images match this pattern")]
    return found


def _scan_folder(folder: Path, recursive: bool, base: Path, skipped: list[Path]) -> list[InputItem]:
    """The folder's images (all below it when `recursive`); appends to `skipped` the visible sub-folders that
    hold images when not."""
    if not recursive:
        entries = sorted(folder.iterdir(), key=lambda p: natural_key(p.name))
        files = [p for p in entries if p.is_file() and _is_visible_image(p)]
        skipped.extend(p for p in entries if p.is_dir() and not p.name.startswith(".") and _holds_images(p))
    else:
        files = []
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files.extend(p for p in (Path(root, n) for n in names) if p.is_file() and _is_visible_image(p))
    items = [InputItem(p, _relative(p, base), explicit=False) for p in files]
    return sorted(items, key=lambda item: natural_key(str(item.rel)))


def _holds_images(folder: Path) -> bool:
    """Whether a recursive scan of `folder` would find an image (stops at the first)."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(_is_visible_image(Path(root, n)) for n in names):
            return True
    return False


def _unique_folders(folders: list[Path]) -> list[Path]:
    seen: set = set()
    kept = []
    for folder in folders:
        if _file_key(folder) not in seen:
            seen.add(_file_key(folder))
            kept.append(folder)
    return kept


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _is_visible_image(path: Path) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def _glob_base(pattern: str) -> Path:
    """The folder part of a pattern before its first wildcard ("shots/*/a.jpg" -> "shots")."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _relative(path: Path, base: Path) -> PurePath:
    try:
        return PurePath(os.path.relpath(path, base))
    except ValueError:  # another drive on Windows
        return PurePath(path.name)


def natural_key(text: str) -> tuple:
    # re.split with a group alternates text and digits, so each position compares like with like.
    pieces = re.split(r"(\d+)", text)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(pieces)), text


def _ext_list() -> str:
    return " ".join(sorted(IMAGE_EXTENSIONS))


def _deduplicate(items: list[InputItem]) -> list[InputItem]:
    seen: set = set()
    kept = []
    for item in items:
        key = ("problem", item.problem) if item.problem else _file_key(item.path)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _file_key(path: Path):
    """Identity of a file: (device, inode) when it exists, so links and case-insensitive names compare equal."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.normcase(os.path.realpath(path)))


def _name_key(path: Path) -> str:
    """Identity of a name that may not exist yet; case-folded because results travel to case-insensitive disks."""
    return os.path.realpath(path).casefold()


# --------------------------------------------------------------------------------------------------------- outputs


def normalize_ext(ext: str | None) -> str | None:
    """'png' or '.PNG' -> '.png'; None stays None. UsageError for an extension we cannot write."""
    if ext is None or ext == "":
        return None
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise UsageError(f"--ext {ext.lstrip('.')}: not an image type we write (use one of {_ext_list()})")
    return ext


def plan_outputs(
    items: list[InputItem],
    output: str | os.PathLike | None,
    suffix: str = "_deblurred",
    ext: str | None = None,
    single_input: bool | None = None,
) -> list[Job]:
    """One Job per item, in order. `single_input` (default: exactly one item) allows `-o FILE`."""
    ext = normalize_ext(ext)
    if single_input is None:
        single_input = len(items) == 1
    target = _output_kind(output, ext, single_input, len(items))
    out = Path(output) if output is not None else None

    jobs = [_first_plan(item, target, out, suffix, ext) for item in items]
    jobs = _skip_earlier_outputs(jobs, items, target, out, suffix)
    jobs = _refuse_input_overwrites(jobs)
    jobs = _resolve_clashes(jobs)
    return _refuse_input_overwrites(jobs)  # renamed outputs are checked again


def _output_kind(output, ext: str | None, single_input: bool, count: int) -> str:
    if output is None:
        return "beside"
    out = Path(output)
    if out.is_dir():
        return "folder"
    if out.suffix.lower() in IMAGE_EXTENSIONS:
        if not single_input:
            raise UsageError(f"-o {output}: looks like a file name but there are {count} inputs; give a folder")
        if ext is not None and FORMAT_BY_EXTENSION[ext] != FORMAT_BY_EXTENSION[out.suffix.lower()]:
            raise UsageError(f"-o {output} and --ext {ext.lstrip('.')} ask for different formats; give only one")
        return "file"
    return "folder"


def _first_plan(item: InputItem, target: str, out: Path | None, suffix: str, ext: str | None) -> Job:
    if item.problem:
        return Job(item.path, None, problem=item.problem)
    src = item.path
    if target == "beside":
        dst = src.with_name(f"{src.stem}{suffix}{ext or src.suffix}")
    elif target == "file":
        dst = out
    else:
        dst = out / item.rel
        if ext is not None:
            dst = dst.with_suffix(ext)
    if dst.is_dir():
        return Job(src, None, problem=f"{src}: the output {dst} is a folder")
    return Job(src, dst)


def _skip_earlier_outputs(jobs, items, target: str, out: Path | None, suffix: str) -> list[Job]:
    planned = {_name_key(j.dst): j.src for j in jobs if j.dst is not None}
    out_root = os.path.realpath(out) if target == "folder" else None
    result = []
    for job, item in zip(jobs, items):
        reason = None
        if job.problem is None and target == "beside" and suffix:
            maker = planned.get(_name_key(job.src))
            if maker is not None and maker != job.src:
                reason = f"output of {maker} from an earlier run"
            elif not item.explicit and job.src.stem.endswith(suffix):
                reason = f"name ends in {suffix}: output of an earlier run"
        elif job.problem is None and out_root is not None and not item.explicit:
            src = os.path.realpath(job.src)
            # (an output folder that is the input folder itself is an overwrite, refused below, not a skip)
            if os.path.commonpath([src, out_root]) == out_root and src != os.path.realpath(job.dst):
                reason = "inside the output folder"
        result.append(replace(job, dst=None, skip=reason) if reason else job)
    return result


def _refuse_input_overwrites(jobs: list[Job]) -> list[Job]:
    inputs = {_file_key(j.src): j.src for j in jobs if j.skip is None and j.problem is None}
    input_names = {_name_key(j.src) for j in jobs if j.skip is None and j.problem is None}
    result = []
    for job in jobs:
        if job.dst is not None and job.problem is None:
            hit = inputs.get(_file_key(job.dst)) if job.dst.exists() else None
            if hit is not None or _name_key(job.dst) in input_names:
                which = "its own input" if hit is None or hit == job.src else f"the input {hit}"
                job = replace(job, dst=None,
                              problem=f"{job.src}: the output {job.dst} would overwrite {which}; "
                                      "choose another output folder or suffix")
        result.append(job)
    return result


def _resolve_clashes(jobs: list[Job]) -> list[Job]:
    groups: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        if job.dst is not None:
            groups.setdefault(_name_key(job.dst), []).append(index)
    taken = set(groups)
    result = list(jobs)
    for members in groups.values():
        if len(members) < 2:
            continue
        keeper = next((i for i in members if _same_extension(jobs[i].src, jobs[i].dst)), members[0])
        for index in members:
            if index == keeper:
                continue
            job = jobs[index]
            renamed = job.dst.with_name(f"{job.dst.stem}_{job.src.suffix.lstrip('.').lower()}{job.dst.suffix}")
            if _same_extension(job.src, job.dst) or _name_key(renamed) in taken:
                result[index] = replace(job, dst=None, problem=f"{job.src}: its output {job.dst} clashes with "
                                                               f"that of {jobs[keeper].src}")
            else:
                taken.add(_name_key(renamed))
                result[index] = replace(job, dst=renamed)
    return result


def _same_extension(a: Path, b: Path) -> bool:
    return a.suffix.lower() == b.suffix.lower()


# -------------------------------------------------------------------------------------------------------- resuming


def should_skip(job: Job, overwrite: bool = False) -> str | None:
    """Why `job` need not run (a short reason), or None when it should. Jobs with a problem are never 'skipped'."""
    if job.problem is not None:
        return None
    if job.skip is not None:
        return job.skip
    if not overwrite and job.dst is not None and job.dst.exists():
        return "output exists"
    return None
