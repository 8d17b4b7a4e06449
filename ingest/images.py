"""Reading figure images safely.

Images come from strangers: a PNG header can claim 30000×30000 pixels and a
few kilobytes can decompress to gigabytes. ``inspect_image`` reads the
header, refuses anything over the pixel limit *before* decoding, then decodes
fully to prove the bytes are a whole image. The bytes are kept exactly as
published (never re-encoded), so their sha256 identifies the image.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageSequence

from ingest.errors import CorruptImageError, ImageTooLargeError

if TYPE_CHECKING:
    from catalog.storage import AnyLake

DEFAULT_MAX_PIXELS = 40_000_000
"""40 MP: journal figures are at most a few MP; anything far larger is suspect."""
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImageBlob:
    """An encoded image with its identity and size."""

    sha256: str
    format: str
    width: int
    height: int
    bytes: bytes
    source: str


def inspect_image(
    data: bytes,
    source: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImageBlob:
    """Validate encoded image bytes and describe them.

    Parameters
    ----------
    data : the encoded image (JPEG, PNG, GIF, TIFF, WebP, ...).
    source : file or URL the bytes came from; named in errors.
    max_pixels : refuse images whose header claims more pixels than this.
    max_bytes : refuse files larger than this.

    Raises
    ------
    ImageTooLargeError : over either limit (checked before any decoding).
    CorruptImageError : not an image, or the data ends or breaks mid-image.

    Examples
    --------
    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 3)).save(buf, "PNG")
    >>> inspect_image(buf.getvalue(), "x.png").width
    4
    """
    if len(data) > max_bytes:
        raise ImageTooLargeError(source, f"{len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        with warnings.catch_warnings():
            # PIL warns (and at 2x its own limit raises) on huge images; we
            # apply our own limit below from the header, before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                fmt = im.format or "unknown"
                if width * height > max_pixels:
                    raise ImageTooLargeError(
                        source,
                        f"{width}×{height} px ({width * height / 1e6:.0f} MP) exceeds the "
                        f"{max_pixels / 1e6:.0f} MP limit; not decoded (decompression-bomb guard)",
                    )
                im.load()  # full decode: truncated or corrupt data raises here
    except ImageTooLargeError:
        raise
    except Image.DecompressionBombError as e:
        # PIL refuses at open() beyond twice its own limit: same verdict.
        raise ImageTooLargeError(source, f"{e} Not decoded (decompression-bomb guard).") from e
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError) as e:
        # PIL signals bad data with OSError ("image file is truncated"),
        # SyntaxError (bad PNG chunks) or UnidentifiedImageError.
        raise CorruptImageError(source, f"not a decodable image ({e})") from e
    return ImageBlob(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        bytes=data,
        source=source,
    )


def rgb_array(arr: np.ndarray) -> np.ndarray:
    """A grey (H×W) or RGB(A) array as a contiguous H×W×3 array."""
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL image as an H×W×3 uint8 array, as a reader of the figure would see it.

    Palette and alpha images are composited on white (transparent figure backgrounds are
    page-white), CMYK is converted, 16-bit and float images are rescaled by their own range,
    and an animated image gives its first frame.
    """
    if getattr(im, "is_animated", False):
        im = next(ImageSequence.Iterator(im)).copy()
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = np.percentile(arr, [0.5, 99.5]) if arr.size else (0.0, 1.0)
        arr = np.clip((arr - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
        return rgb_array(arr)
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im.convert("RGBA"), mask=im.convert("RGBA").getchannel("A"))
        return np.asarray(background)
    return np.asarray(im.convert("RGB"))


def decode_rgb(data: bytes, source: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Validate (``inspect_image``) and decode image bytes to RGB; errors name ``source``."""
    inspect_image(data, source, max_pixels=max_pixels)
    with Image.open(io.BytesIO(data)) as im:
        return to_rgb(im)


def figure_image_reader(lake: AnyLake, max_pixels: int = DEFAULT_MAX_PIXELS) -> Callable[[str], np.ndarray]:
    """figure_id → the figure's image as RGB, by random access into the lake's images; an image that
    is missing or will not decode raises ``CorruptImageError`` naming the figure."""
    from catalog.schema import FIGURES

    shas = {f["figure_id"]: f["image_sha256"]
            for f in lake.read(FIGURES.name, ["figure_id", "image_sha256"]).to_pylist()}
    read = lake.image_reader()

    def rgb(figure_id: str) -> np.ndarray:
        source = f"{figure_id} image"
        data = read(shas.get(figure_id) or "")
        if data is None:
            raise CorruptImageError(source, "image is not in the images table")
        return decode_rgb(data, source, max_pixels=max_pixels)

    return rgb
