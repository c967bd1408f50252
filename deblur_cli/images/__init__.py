"""Read and write photos so that a deblurred result keeps what the original had: the one door for images.

What survives a round trip: EXIF orientation (applied to the pixels, then reset to 1 in the EXIF that is written back),
the other EXIF tags, the ICC profile, DPI, gray (the network sees three equal channels; gray is written back),
alpha (returned apart from the colour and re-attached untouched on write) and 16 bits per sample.

- :mod:`.reading`: :func:`read_image`; Pillow opens every file and decodes the 8-bit ones;
- :mod:`.sixteen_bit`: 16-bit PNG and TIFF samples, decoded by OpenCV (Pillow has no 16-bit colour modes);
- :mod:`.planar_tiff`: a 16-bit TIFF stored one plane per channel, handed to OpenCV one plane at a time;
- :mod:`.metadata`: EXIF orientation and the EXIF, DPI carried to the output;
- :mod:`.writing`: :func:`write_image`; Pillow writes 8-bit JPEG, PNG, WebP and BMP, :mod:`.encoders` 16-bit PNG
  and TIFF of any depth (no library writes those with EXIF, ICC and DPI);
- :mod:`.pixels`: :func:`write_pixels`, plain 8-bit arrays with no original to keep faith with (stand-ins, pairs,
  comparisons), and :func:`jpeg_round_trip`, a JPEG's artefacts for synthetic degradation;
- :mod:`.paths`: which files are inputs and where each result goes.

No module outside this package opens or saves an image file with Pillow or OpenCV (tests/test_image_door.py).

Callers import from here (``from deblur_cli.images import read_image, write_image``), the path the docs
give library users.
"""

from .picture import Picture
from .pixels import jpeg_round_trip, write_pixels
from .reading import READ_FORMATS, ImageReadError, read_image
from .writing import write_image

__all__ = ["ImageReadError", "Picture", "read_image", "write_image", "READ_FORMATS", "write_pixels", "jpeg_round_trip"]
