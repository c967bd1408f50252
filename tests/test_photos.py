"""Real-photo training data: the fetch command (against a .deb the test builds, served on 127.0.0.1), the photo
pool, pairs blurred on the fly, `deblur synth --photos`, and a training run on a folder of photos.

No test downloads the photo set: photos are small images made here.
"""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import threading
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from photo_run_fixtures import write_tiny_photo_config

from deblur_cli.data.datasets import GoProDataset, PhotoDataset
from deblur_cli.data.mix import PhotoMix, photo_mix
from deblur_cli.data.photo_pairs import PhotoPool, find_photos, make_photo_pair
from deblur_cli.data.photo_sources import PhotoFetchError, PhotoSource, fetch_photos, load_sources, sha256_of
from deblur_cli.errors import DeblurError


def textured(seed: int, w: int = 96, h: int = 80) -> np.ndarray:
    """A photo stand-in with detail at every scale (smooth colour plus fine noise stripes)."""
    rng = np.random.default_rng(seed)
    low = np.asarray(Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC))
    fine = (rng.random((h, w, 1)) > 0.5) * 60
    return np.clip(low.astype(int) + fine - 30, 0, 255).astype(np.uint8)


def write_photo(path: Path, pixels: np.ndarray, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **save)
    return path


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def make_deb(files: dict[str, bytes]) -> bytes:
    """A minimal Debian package: an ar archive holding debian-binary, control.tar.xz and data.tar.xz."""
    def tar_xz(members: dict[str, bytes]) -> bytes:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return lzma.compress(raw.getvalue())

    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in (("debian-binary", b"2.0\n"), ("control.tar.xz", tar_xz({"control": b"Package: x\n"})),
                       ("data.tar.xz", tar_xz(files))):
        out.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode())
        out.write(data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


@pytest.fixture
def archive(tmp_path):
    """A Debian-like mirror on 127.0.0.1 holding one package with two photos, and its source list."""
    photos = {"usr/share/backgrounds/a.png": png_bytes(textured(1)),
              "usr/share/backgrounds/b.png": png_bytes(textured(2))}
    deb = make_deb(photos)
    root = tmp_path / "mirror"
    pool = root / "pool/main/t/test-photos"
    pool.mkdir(parents=True)
    (pool / "test-photos_1.0-1_all.deb").write_bytes(deb)
    sources = [PhotoSource(name=name, package="test-photos", version="1.0-1",
                           deb="pool/main/t/test-photos/test-photos_1.0-1_all.deb", deb_sha256=sha256_of(deb),
                           path=path, sha256=sha256_of(data), licence="CC0-1.0", copyright="test", content="noise",
                           split=split)
               for (path, data), name, split in zip(photos.items(), ("a", "b"), ("train", "val"))]
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sources, root
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_fetch_downloads_verifies_and_writes_each_split(archive, tmp_path):
    url, sources, _ = archive
    cache = tmp_path / "cache"
    report = fetch_photos(tmp_path / "out", sources, mirror=url, cache_dir=cache)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in report.written) == ["train/a.png", "val/b.png"]
    assert sha256_of(tmp_path / "out/train/a.png") == sources[0].sha256
    record = json.loads((tmp_path / "out/photos.json").read_text())["photos"]
    assert [(r["name"], r["licence"]) for r in record] == [("a", "CC0-1.0"), ("b", "CC0-1.0")]
    again = fetch_photos(tmp_path / "out", sources, mirror="http://127.0.0.1:9", cache_dir=cache)  # nothing to fetch
    assert len(again.kept) == 2 and not again.written


def test_fetch_refuses_a_package_or_photo_whose_sha256_differs(archive, tmp_path):
    url, sources, _ = archive
    bad_deb = [replace(s, deb_sha256="0" * 64) for s in sources]
    with pytest.raises(PhotoFetchError, match="sha256") as exc:
        fetch_photos(tmp_path / "out", bad_deb, mirror=url, cache_dir=tmp_path / "c1")
    assert "test-photos 1.0-1" in str(exc.value) and "\n" not in str(exc.value)
    bad_photo = [replace(sources[0], sha256="f" * 64)]
    with pytest.raises(PhotoFetchError, match="a.png has sha256"):
        fetch_photos(tmp_path / "out2", bad_photo, mirror=url, cache_dir=tmp_path / "c2")
    assert not (tmp_path / "out2" / "train" / "a.png").exists()  # nothing unverified is written


def test_fetch_names_a_missing_package(archive, tmp_path):
    url, sources, _ = archive
    gone = [replace(s, deb="pool/main/t/test-photos/test-photos_9.9_all.deb") for s in sources]
    with pytest.raises(PhotoFetchError, match="cannot download .*test-photos_9.9_all.deb"):
        fetch_photos(tmp_path / "out", gone, mirror=url, cache_dir=tmp_path / "c")
    with pytest.raises(PhotoFetchError, match="not in"):
        fetch_photos(tmp_path / "out", sources, debs_dir=tmp_path)


def test_fetch_reads_packages_from_apt_get_download(archive, tmp_path):
    _, sources, root = archive
    debs = tmp_path / "debs"
    debs.mkdir()
    deb = next(root.rglob("*.deb"))
    (debs / "test-photos_1.0-1_all.deb").write_bytes(deb.read_bytes())
    report = fetch_photos(tmp_path / "out", sources, splits=("val",), debs_dir=debs)
    assert [p.name for p in report.written] == ["b.png"]


def test_the_bundled_source_list_holds_out_whole_photos():
    sources = load_sources()
    assert len(sources) >= 30
    train = {s.sha256 for s in sources if s.split == "train"}
    val = {s.sha256 for s in sources if s.split == "val"}
    assert train and val and not train & val
    assert all(s.licence and s.copyright and len(s.sha256) == 64 and len(s.deb_sha256) == 64 for s in sources)
    assert all(s.why for s in sources if s.split == "excluded")


def test_photo_pool_applies_exif_orientation_and_caps_the_size(tmp_path):
    pixels = textured(3, 120, 60)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    write_photo(tmp_path / "p" / "sub" / "turned.jpg", pixels, exif=exif, quality=95)
    write_photo(tmp_path / "p" / "flat.png", pixels)
    paths = find_photos(tmp_path / "p")  # recursive, sorted
    assert [p.name for p in paths] == ["flat.png", "turned.jpg"]
    pool = PhotoPool(paths, max_megapixels=1.0)
    assert pool.photo(0).shape == (60, 120, 3) and pool.photo(1).shape == (120, 60, 3)
    small = PhotoPool(paths, max_megapixels=0.0018)  # 1,800 pixels: 60x30
    assert small.photo(0).shape == (30, 60, 3)
    assert PhotoPool(paths, 1.0).preload() == 2 and PhotoPool(paths, 1.0, cache_bytes=1).preload() == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(DeblurError, match="no photos found"):
        find_photos(tmp_path / "empty")


@pytest.fixture
def photo_folder(tmp_path):
    for i in range(3):
        write_photo(tmp_path / "photos" / "train" / f"p{i}.png", textured(10 + i, 160, 120))
    write_photo(tmp_path / "photos" / "val" / "v.png", textured(20, 160, 120))
    return tmp_path / "photos"


SMALL = PhotoMix(megapixels=(0.012, 0.019), max_extent=8.0)


@pytest.mark.parametrize("motion", ["none", "shake", "kernel", "objects", "mixed"])
def test_photo_pairs_are_deterministic_and_blur_only_when_asked(photo_folder, motion):
    pool = PhotoPool(find_photos(photo_folder / "train"), 0.02)
    a = make_photo_pair(np.random.default_rng([1, 2]), pool, 48, motion, SMALL)
    b = make_photo_pair(np.random.default_rng([1, 2]), pool, 48, motion, SMALL)
    assert a[0].shape == a[1].shape == (48, 48, 3) and a[0].dtype == np.float32
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert 0 <= a[0].min() and a[0].max() <= 1


def test_blurred_pairs_lose_fine_detail_and_near_sharp_ones_do_not(photo_folder):
    pool = PhotoPool(find_photos(photo_folder / "train"), 0.02)
    mix = replace(SMALL, p_noise=0.0, p_jpeg=0.0, max_extent=10.0)

    def detail(x):
        return np.abs(np.diff(x, axis=1)).mean()

    for motion, lo, hi in (("shake", 0.0, 0.85), ("kernel", 0.0, 0.85), ("none", 0.9, 1.1)):
        ratios = []
        for i in range(6):
            blur, sharp, _ = make_photo_pair(np.random.default_rng([5, i]), pool, 48, motion, mix)
            ratios.append(detail(blur) / detail(sharp))
        assert lo <= np.mean(ratios) <= hi, (motion, ratios)


def test_the_most_detailed_of_several_crops_carries_more_detail(tmp_path):
    flat = np.full((200, 200, 3), 128, np.uint8)
    flat[:, 150:] = textured(4, 50, 200)  # a quarter of the photo has detail
    write_photo(tmp_path / "half" / "p.png", flat)
    pool = PhotoPool(find_photos(tmp_path / "half"), 1.0)

    def identity_l1(candidates):
        mix = PhotoMix(megapixels=(0.04, 0.04), candidates=candidates, p_noise=0, p_jpeg=0, max_extent=6.0)
        return np.mean([np.abs(b - s).mean() for b, s, _ in
                        (make_photo_pair(np.random.default_rng([7, i]), pool, 48, "shake", mix) for i in range(12))])

    assert identity_l1(4) > 1.3 * identity_l1(1)


def test_photo_dataset_is_a_function_of_seed_epoch_and_index(photo_folder):
    ds = PhotoDataset(photo_folder / "train", 4, seed=3, crop=32, mix=SMALL)
    first = ds[1]
    assert first["blur"].shape == (3, 32, 32) and first["name"].endswith("-000001")
    ds.set_epoch(1)
    other_epoch = ds[1]
    ds.set_epoch(0)
    again = PhotoDataset(photo_folder / "train", 4, seed=3, crop=32, mix=SMALL)[1]
    assert (first["blur"] == again["blur"]).all() and not (first["blur"] == other_epoch["blur"]).all()


def test_blur_extents_cover_the_configured_range(photo_folder, monkeypatch):
    import deblur_cli.data.photo_pairs as photo_pairs

    seen = []
    real = photo_pairs.render_motion

    def spy(rng, canvas, size, margin, kind, extent, *args, **kwargs):
        seen.append(extent)
        return real(rng, canvas, size, margin, kind, extent, *args, **kwargs)

    monkeypatch.setattr(photo_pairs, "render_motion", spy)
    pool = PhotoPool(find_photos(photo_folder / "train"), 0.02)
    even = replace(SMALL, p_noise=0.0, p_jpeg=0.0, min_extent=10.0, max_extent=14.0, extent_power=1.0)
    for i in range(40):
        make_photo_pair(np.random.default_rng([9, i]), pool, 24, "kernel", even)
    assert 10.0 <= min(seen) and max(seen) <= 14.0
    assert 0.35 < np.mean(np.array(seen) < 12.0) < 0.65  # power 1 draws evenly: about half below the middle


def test_photo_mix_table_is_checked():
    assert photo_mix({"max_extent": 12, "candidates": 2}).candidates == 2
    for bad, message in (({"candidates": 0}, "candidates"), ({"p_sharp": 0.6, "p_kernel": 0.6}, "<= 1"),
                         ({"megapixels": [2, 1]}, "low <= high"), ({"nope": 1}, "unknown key"),
                         ({"min_extent": 30, "max_extent": 20}, "min_extent"), ({"extent_power": 0}, "extent_power")):
        with pytest.raises(ValueError, match=message):
            photo_mix(bad)


def test_synth_photos_writes_a_gopro_set_that_eval_reads(photo_folder, tmp_path, capsys):
    from deblur_cli.cli.app import main

    out = tmp_path / "val-set"
    args = ["synth", "--photos", str(photo_folder / "val"), "--out", str(out), "--n", "3", "--size", "48",
            "--motion", "shake", "--seed", "77"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0 and "photos from" in capsys.readouterr().out
    pairs = GoProDataset(out)
    assert [p["name"] for p in pairs] == ["PHOTO_77_00/000000", "PHOTO_77_00/000001", "PHOTO_77_00/000002"]
    stamp = json.loads((out / "test" / "synth.json").read_text())["77"]
    assert list(stamp["photos"]) == ["v.png"]
    write_photo(photo_folder / "val" / "w.png", textured(30, 160, 120))
    with pytest.raises(SystemExit) as exc:  # another photo folder under the same seed would mix two sets
        main(args)
    assert exc.value.code == 1 and "photos" in capsys.readouterr().err


def test_training_on_a_photo_folder_validates_on_the_sibling_val_folder(photo_folder, tmp_path):
    from deblur_cli.train.config import load_config
    from deblur_cli.train.loop import RunOptions, train

    cfg = write_tiny_photo_config(tmp_path / "photos.toml", length=4, max_steps=2, val_every=2)
    result = train(load_config(cfg), RunOptions(run_dir=str(tmp_path / "run"), data_root=str(photo_folder / "train"),
                                                 progress=False, tensorboard=False, warm_start=False))
    assert result.step == 2 and result.last_val is not None
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert "held-out photos" in json.dumps(meta)
    with pytest.raises(DeblurError, match="needs root"):
        train(load_config(cfg), RunOptions(run_dir=str(tmp_path / "run2"), progress=False, tensorboard=False,
                                           warm_start=False))
