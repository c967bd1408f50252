"""``deblur_cli/images/`` is the only door to image files: no other module of the package, tools or benchmarks opens
or saves an image with Pillow or OpenCV (read from the source with ``ast``).

So a new writer that calls ``Image.fromarray(x).save(path)`` or ``cv2.imwrite`` beside the package's own (with
its own atomicity, rounding and format rules) fails here, as ``data/writer.py`` and ``eval/saving.py`` once would
have. Pillow may still draw and resize in memory elsewhere (plots, crops); it may not touch a file.

The rules, per module outside ``images/``:

- no ``import cv2`` and no import of another image-file library (``tifffile``, ``imageio``, ``skimage.io``);
- no ``Image.open(...)`` (however Pillow's ``Image`` module is named);
- a module that imports Pillow calls no ``.save(...)`` at all: every Pillow image is written through
  :func:`deblur_cli.images.write_pixels` or :func:`~deblur_cli.images.write_image`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOOR = ROOT / "deblur_cli" / "images"
FILE_LIBRARIES = ("cv2", "tifffile", "imageio", "skimage.io")


def scanned_files() -> list[Path]:
    files = [path for folder in ("deblur_cli", "tools", "benchmarks") for path in (ROOT / folder).rglob("*.py")]
    return sorted(p for p in files if DOOR not in p.parents)


def _is_library(module: str, library: str) -> bool:
    return module == library or module.startswith(library + ".")


def image_file_access(source: str) -> list[str]:
    """Each place in ``source`` that reads or writes an image file with Pillow or OpenCV: ``line: what``."""
    tree = ast.parse(source)
    pillow_image_names: set[str] = set()  # what Pillow's Image module is called here: Image, PIL.Image, ...
    uses_pillow = False
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                uses_pillow |= _is_library(alias.name, "PIL")
                if alias.name == "PIL.Image":
                    pillow_image_names.add(alias.asname or "PIL.Image")
                found += [f"{node.lineno}: imports {alias.name}" for lib in FILE_LIBRARIES
                          if _is_library(alias.name, lib)]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            uses_pillow |= _is_library(node.module, "PIL")
            for alias in node.names:
                if node.module == "PIL" and alias.name == "Image":
                    pillow_image_names.add(alias.asname or "Image")
                if node.module == "PIL.Image" and alias.name == "open":
                    found.append(f"{node.lineno}: imports PIL.Image.open")
                full = f"{node.module}.{alias.name}"
                found += [f"{node.lineno}: imports {full}" for lib in FILE_LIBRARIES
                          if _is_library(node.module, lib) or _is_library(full, lib)]
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "open" and ast.unparse(node.func.value) in pillow_image_names:
            found.append(f"{node.lineno}: opens an image with {ast.unparse(node.func)}")
        elif node.func.attr == "save" and uses_pillow:
            found.append(f"{node.lineno}: saves with {ast.unparse(node.func)}(...) in a module that uses Pillow")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def test_only_the_images_package_opens_or_saves_image_files():
    found = [f"{path.relative_to(ROOT)}:{hit}" for path in scanned_files()
             for hit in image_file_access(path.read_text(encoding="utf-8"))]
    assert not found, "read and write images through deblur_cli.images:\n" + "\n".join(found)


def test_the_scan_covers_the_package_tools_and_benchmarks_but_not_the_door():
    names = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert {"deblur_cli/data/writer.py", "deblur_cli/eval/saving.py", "benchmarks/tiling_agreement.py",
            "tools/make_examples.py"} <= names
    assert not any(n.startswith("deblur_cli/images/") for n in names)


# --- the checker itself, on synthetic sources ----------------------------------------------------------------

def test_checker_catches_the_old_pair_writer():
    old_writer = ("from PIL import Image\n"
                  "def save_png(path, image):\n"
                  "    Image.fromarray(image).save(path, 'PNG')\n")
    assert image_file_access(old_writer) == [
        "3: saves with Image.fromarray(image).save(...) in a module that uses Pillow"]


def test_checker_catches_opening_under_any_name_and_opencv():
    source = ("import PIL.Image as P\nimport cv2\nfrom PIL.Image import open\n"
              "def read(p):\n    return P.open(p), cv2.imread(p)\n")
    assert image_file_access(source) == ["2: imports cv2", "3: imports PIL.Image.open",
                                         "5: opens an image with P.open"]
    assert image_file_access("from skimage import io\n") == ["1: imports skimage.io"]


def test_checker_lets_pillow_draw_and_resize_and_others_save():
    drawing = ("from PIL import Image, ImageDraw\n"
               "def crop(a):\n    return Image.fromarray(a).resize((2, 2), Image.LANCZOS)\n")
    assert image_file_access(drawing) == []
    assert image_file_access("import torch\ndef f(m, p):\n    torch.save(m, p)\n    open(p).read()\n") == []
