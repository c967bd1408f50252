"""Process a planned batch of files as a pipeline: decode ahead, run the network, encode behind.

Three stages, as ncnn-vulkan does it, so the accelerator does not wait on image decoding and encoding:
a reader thread decodes the next images, the main thread runs the network (one image at a time; the
network is the only heavy user of the device), a writer thread encodes and writes the results. The
queues between the stages are bounded (``QUEUE_DEPTH`` images each), so memory stays flat however long
the batch. Pillow and numpy release the GIL while they decode and encode, so the stages overlap.

Every job ends as one ``FileResult``: ``ok``, ``skipped`` (output exists, or an earlier run's output)
or ``failed`` with a one-line reason. A bad file never stops the batch; only Ctrl-C does, and then the
files already restored are still written.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import DeblurError, UsageError
from ..images import Picture, read_image, write_image
from ..images.paths import Job, should_skip

QUEUE_DEPTH = 2
_DONE = object()  # end-of-stream marker between stages


@dataclass
class FileResult:
    src: str
    dst: str | None
    status: str  # "ok" | "skipped" | "failed"
    reason: str | None = None
    seconds: float = 0.0  # read + restore + write time of this file
    size: tuple[int, int] | None = None  # (width, height)
    notes: list[str] = field(default_factory=list)  # what the output format could not hold, etc.
    extras: list[str] = field(default_factory=list)  # --compare / --save-attention files written
    detail: str | None = field(default=None, repr=False)  # traceback of an unexpected error, for --debug

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("detail")
        out["size"] = list(self.size) if self.size else None
        return out

    def message(self) -> str:
        """One line for the user: the file, then why it failed."""
        reason = self.reason or "unknown error"
        return reason if reason.startswith(self.src) else f"{self.src}: {reason}"


@dataclass(frozen=True)
class BatchOptions:
    ext: str | None = None  # output format; None: the output path's extension
    quality: int = 95
    overwrite: bool = False
    max_pixels: int | None = None
    compare: bool = False  # also write <output stem>_compare<ext>: input | result side by side
    save_attention: bool = False  # also write BAG's spatial attention maps (paper 004, Fig. 7)


class Reporter:
    """Receives progress from the pipeline. Methods may be called from the worker threads."""

    def start(self, total: int) -> None: ...
    def tiles(self, done: int, total: int) -> None: ...
    def file_done(self, result: FileResult) -> None: ...
    def close(self) -> None: ...


def compare_path(dst: Path) -> Path:
    return dst.with_name(f"{dst.stem}_compare{dst.suffix}")


def attention_paths(dst: Path, count: int) -> tuple[Path, list[Path]]:
    """(grid of all maps, one file per module), PNG beside the output."""
    return (dst.with_name(f"{dst.stem}_attention.png"),
            [dst.with_name(f"{dst.stem}_attention_{k + 1}.png") for k in range(count)])


def run_batch(jobs: Iterable[Job], restorer, options: BatchOptions = BatchOptions(),
              reporter: Reporter | None = None) -> list[FileResult]:
    """Restore every job's ``src`` into its ``dst``; one result per job, in job order."""
    jobs = list(jobs)
    reporter = reporter or Reporter()
    results: list[FileResult | None] = [None] * len(jobs)
    lock = threading.Lock()
    stop = threading.Event()
    to_network: queue.Queue = queue.Queue(QUEUE_DEPTH)
    to_writer: queue.Queue = queue.Queue(QUEUE_DEPTH)
    collect = _attention_collector(restorer) if options.save_attention else None
    expect = getattr(restorer, "expect", None)  # absent on stand-ins for the engine
    if expect is not None:  # compile="auto" weighs the compile against the whole batch
        expect(sum(job.problem is None and should_skip(job, options.overwrite) is None for job in jobs))

    def finish(index: int, result: FileResult) -> None:
        with lock:
            results[index] = result
        reporter.file_done(result)

    def put(q: queue.Queue, item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read_all() -> None:
        try:
            for index, job in enumerate(jobs):
                if stop.is_set():
                    return
                if job.problem is not None:
                    finish(index, FileResult(str(job.src), None, "failed", job.problem))
                    continue
                skip = should_skip(job, options.overwrite)
                if skip is not None:
                    finish(index, FileResult(str(job.src), _str(job.dst), "skipped", skip))
                    continue
                start = time.perf_counter()
                try:
                    picture = read_image(job.src, max_pixels=options.max_pixels)
                except Exception as exc:  # noqa: BLE001 - any unreadable file fails alone
                    finish(index, _failed(job, exc, time.perf_counter() - start))
                    continue
                if not put(to_network, (index, job, picture, time.perf_counter() - start)):
                    return
        finally:
            put(to_network, _DONE)

    def write_all() -> None:
        while True:
            item = to_writer.get()
            if item is _DONE:
                return
            index, job, picture, restored, maps, seconds = item
            start = time.perf_counter()
            try:
                result = _write_outputs(job, picture, restored, maps, options)
                result.notes[:0] = _size_notes(restorer, picture)
            except Exception as exc:  # noqa: BLE001 - a file that cannot be written fails alone
                result = _failed(job, exc, 0.0)
            result.seconds = seconds + time.perf_counter() - start
            result.size = picture.size
            finish(index, result)

    reporter.start(len(jobs))
    reader = threading.Thread(target=read_all, name="deblur-reader", daemon=True)
    writer = threading.Thread(target=write_all, name="deblur-writer", daemon=True)
    reader.start()
    writer.start()
    try:
        while True:
            item = to_network.get()
            if item is _DONE:
                break
            index, job, picture, seconds = item
            start = time.perf_counter()
            try:
                restored, maps = _restore(restorer, picture.rgb, collect, reporter.tiles)
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory even at the smallest tile
                finish(index, _failed(job, exc, seconds + time.perf_counter() - start, picture.size))
                continue
            to_writer.put((index, job, picture, restored, maps, seconds + time.perf_counter() - start))
    finally:
        stop.set()  # on Ctrl-C the reader stops; what was restored is still written
        to_writer.put(_DONE)
        writer.join()
        reader.join(timeout=5)
        reporter.close()
    return [r for r in results if r is not None]


def _restore(restorer, rgb: np.ndarray, collect, progress: Callable[[int, int], None]):
    if collect is None:
        return restorer.restore(rgb, progress=progress), None
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    y, maps = restorer.restore_with_maps(x, collect=collect, progress=progress)
    return y[0].permute(1, 2, 0).numpy(), None if maps is None else maps[0].numpy()


def _size_notes(restorer, picture) -> list[str]:
    """The engine's note on an image too small for the network (padded up, cropped back), if any."""
    note = getattr(restorer, "size_note", None)  # absent on stand-ins for the engine
    text = note(*picture.rgb.shape[:2]) if note else None
    return [text] if text else []


def _attention_collector(restorer):
    module = restorer.module
    if not hasattr(module, "keep_attention_maps"):
        raise UsageError(f"--save-attention: {restorer.name} has no spatial attention maps (BAG variants do)")
    module.keep_attention_maps(True)
    return lambda m: m.attention_maps()


def _write_outputs(job: Job, picture, restored: np.ndarray, maps: np.ndarray | None,
                   options: BatchOptions) -> FileResult:
    dst = Path(job.dst)
    notes = write_image(dst, picture, rgb=restored, ext=options.ext, quality=options.quality)
    extras = []
    if options.compare:
        side_by_side = np.concatenate([picture.rgb, restored], axis=1)
        flat = dataclasses.replace(picture, rgb=side_by_side, alpha=None, exif=None)
        write_image(compare_path(dst), flat, quality=options.quality)
        extras.append(str(compare_path(dst)))
    if maps is not None and len(maps):
        extras += _write_attention(dst, picture, maps)
    elif options.save_attention:
        notes.append("no attention maps: this variant has no spatial attention units")
    return FileResult(str(job.src), str(dst), "ok", notes=notes, extras=extras)


def _write_attention(dst: Path, picture, maps: np.ndarray) -> list[str]:
    """The K maps (KxHxW in [0, 1]) as gray 8-bit PNGs: one per module and a 2-column grid of all."""
    grid_path, paths = attention_paths(dst, len(maps))
    gray = dict(mode="gray", bit_depth=8, path=picture.path)  # path: write_image refuses to overwrite the input
    for path, m in zip(paths, maps):
        write_image(path, Picture(rgb=np.repeat(m[:, :, None], 3, axis=2), **gray))
    cols = 2 if len(maps) > 1 else 1
    rows = -(-len(maps) // cols)
    h, w = maps.shape[1:]
    gap = max(2, min(h, w) // 100)
    grid = np.ones((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), dtype=np.float32)
    for k, m in enumerate(maps):
        r, c = divmod(k, cols)
        grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = m
    write_image(grid_path, Picture(rgb=np.repeat(grid[:, :, None], 3, axis=2), **gray))
    return [str(grid_path)] + [str(p) for p in paths]


def _failed(job: Job, exc: BaseException, seconds: float, size=None) -> FileResult:
    if isinstance(exc, DeblurError):
        reason, detail = str(exc), None
    else:  # unexpected: keep the traceback for --debug, say what it was in one line
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        detail = "".join(traceback.format_exception(exc))
    return FileResult(str(job.src), _str(job.dst), "failed", reason, seconds, size, detail=detail)


def _str(path) -> str | None:
    return None if path is None else str(path)


class ConsoleReporter(Reporter):
    """Progress on stderr: a rich bar for files (and for the tiles of a tiled image) when stderr is a
    terminal, and one ``error: <file>: <reason>`` line per failed file as it happens, bar or not."""

    def __init__(self, show_bar: bool = True, debug: bool = False):
        self.console = Console(stderr=True, highlight=False)
        self.debug = debug
        self.bar = None
        if show_bar and self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=True)
        self._files = self._tiles = None

    def start(self, total: int) -> None:
        if self.bar is not None:
            self.bar.start()
            self._files = self.bar.add_task("files", total=total)
            self._tiles = self.bar.add_task("tiles", total=1, visible=False)

    def tiles(self, done: int, total: int) -> None:
        if self.bar is not None and total > 1:
            self.bar.update(self._tiles, completed=done, total=total, visible=done < total)

    def file_done(self, result: FileResult) -> None:
        if result.status == "failed":
            text = f"error: {result.message()}"
            if self.debug and result.detail:
                text += "\n" + result.detail.rstrip()
            self.console.print(text, markup=False, soft_wrap=True)
        if self.bar is not None:
            self.bar.advance(self._files)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def summarize(results: list[FileResult]) -> dict:
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "skipped", "failed")}
    return {**counts, "total": len(results), "seconds": round(sum(r.seconds for r in results), 3)}
