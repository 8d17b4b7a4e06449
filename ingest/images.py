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
from dataclasses import dataclass

from PIL import Image

from ingest.errors import CorruptImageError, ImageTooLargeError

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
