"""Image guards: corrupt files and decompression bombs are refused before they cost memory."""

from __future__ import annotations

import hashlib

import pytest
from conftest import CORPUS, png_bytes, png_claiming

from ingest.errors import CorruptImageError, ImageTooLargeError
from ingest.images import inspect_image


def test_real_jpeg_is_described_exactly() -> None:
    data = (CORPUS / "nature" / "figures" / "ncomms5946_fig1.jpg").read_bytes()
    blob = inspect_image(data, "fig1.jpg")
    assert (blob.format, blob.width, blob.height) == ("JPEG", 685, 320)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.bytes is data  # kept as published, never re-encoded


def test_truncated_jpeg_is_corrupt() -> None:
    data = (CORPUS / "nature" / "figures" / "ncomms5946_fig1.jpg").read_bytes()
    with pytest.raises(CorruptImageError, match="half.jpg"):
        inspect_image(data[: len(data) // 2], "half.jpg")


def test_non_image_is_corrupt() -> None:
    with pytest.raises(CorruptImageError, match="page.jpg: not a decodable image"):
        inspect_image(b"<html>not an image</html>", "page.jpg")


def test_png_header_claiming_30000_squared_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="bomb.png") as e:
        inspect_image(png_claiming(30000, 30000), "bomb.png")
    assert "decompression-bomb" in str(e.value)


def test_limit_below_pil_own_threshold_is_ours() -> None:
    # 5000×5000 = 25 MP: PIL would decode it; our 10 MP limit refuses it from the header.
    with pytest.raises(ImageTooLargeError, match=r"5000×5000 px \(25 MP\) exceeds the 10 MP limit"):
        inspect_image(png_claiming(5000, 5000), "big.png", max_pixels=10_000_000)


def test_byte_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="byte limit"):
        inspect_image(png_bytes(), "x.png", max_bytes=10)
