"""Uploaded images: identified by content, bounded, refused when damaged, oriented and stripped of metadata."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from ml.data.images import MAX_PIXELS, ImageRejectedError, decode_image, validate_image


def picture(width: int = 40, height: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)


def encoded(pixels: np.ndarray, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def rejection(data: bytes, **limits) -> ImageRejectedError:
    with pytest.raises(ImageRejectedError) as caught:
        validate_image(data, **limits)
    return caught.value


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_accepts_jpeg_png_and_webp_identified_by_content(image_format):
    result = validate_image(encoded(picture(), image_format))

    assert result.format == image_format
    assert (result.width, result.height) == (40, 30)
    assert result.pixels.shape == (30, 40, 3) and result.pixels.dtype == np.uint8
    assert Image.open(io.BytesIO(result.data)).format == image_format
    assert result.size == len(result.data)


def test_lossless_formats_keep_the_pixels():
    pixels = picture()
    assert np.array_equal(validate_image(encoded(pixels, "PNG")).pixels, pixels)


@pytest.mark.parametrize(
    "data",
    [b"hello, this is text", b"%PDF-1.7\n1 0 obj", b"\x00" * 100],
    ids=["text", "pdf", "zeros"],
)
def test_rejects_a_non_image_with_a_clear_message(data):
    error = rejection(data)

    assert error.reason == "not_image"
    assert "JPEG, PNG or WebP" in str(error)


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_rejects_other_image_formats_by_content(image_format):
    assert rejection(encoded(picture(), image_format)).reason == "not_image"


def test_rejects_an_empty_file():
    assert rejection(b"").reason == "empty"


def test_rejects_a_file_over_the_byte_limit():
    error = rejection(encoded(picture(200, 200), "PNG"), max_bytes=10_000)

    assert error.reason == "too_large"
    assert "MB" in str(error)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_rejects_a_truncated_file(image_format):
    data = encoded(picture(120, 90), image_format)
    error = rejection(data[: len(data) // 2])

    assert error.reason == "corrupt"
    assert "damaged or incomplete" in str(error)


def test_rejects_corrupt_bytes_after_a_valid_header():
    data = bytearray(encoded(picture(120, 90), "PNG"))
    data[60:200] = b"\xff" * 140
    assert rejection(bytes(data)).reason == "corrupt"


def bomb(width: int, height: int) -> bytes:
    """A small PNG declaring a large, uniform image (it compresses to almost nothing)."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_rejects_a_decompression_bomb_from_its_header_before_decoding(monkeypatch):
    data = bomb(8_000, 6_000)  # 48 megapixels in a few kilobytes
    assert len(data) < 100_000

    def no_decoding(self):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = rejection(data)

    assert error.reason == "too_many_pixels"
    assert "8000×6000" in str(error) and f"{MAX_PIXELS / 1e6:g} megapixels" in str(error)


def test_rejects_what_pillow_itself_calls_a_bomb():
    # Beyond twice Pillow's MAX_IMAGE_PIXELS it raises DecompressionBombError while opening; that is refused too.
    assert rejection(bomb(20_000, 20_000), max_pixels=10**10).reason == "too_many_pixels"


def test_the_pixel_limit_is_a_parameter():
    assert rejection(encoded(picture(100, 100), "PNG"), max_pixels=5_000).reason == "too_many_pixels"
    assert validate_image(encoded(picture(100, 100), "PNG"), max_pixels=10_000).width == 100


def with_orientation(pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(pixels, "PNG", exif=exif.tobytes())


def test_applies_the_exif_orientation():
    pixels = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 tall: red left half, blue right half
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)

    result = validate_image(with_orientation(pixels, 6))  # 6: the camera was turned; rotate 90° clockwise to view

    assert (result.width, result.height) == (20, 40)
    assert tuple(result.pixels[2, 10]) == (255, 0, 0)  # the left (red) half is now on top
    assert tuple(result.pixels[-3, 10]) == (0, 0, 255)
    assert (Image.open(io.BytesIO(result.data)).size) == (20, 40)


def jpeg_with_metadata(pixels: np.ndarray, make: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make  # camera maker
    exif[0x8825] = {0x0002: (51.0, 30.0, 0.0)}  # GPS latitude
    icc = b"\x00\x00\x02\x0cfake-icc-profile" + b"\x00" * 100
    return encoded(pixels, "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"taken in room 12")


def test_strips_exif_icc_and_comments_from_jpeg():
    result = validate_image(jpeg_with_metadata(picture(64, 48), "Acme Camera"))
    stored = Image.open(io.BytesIO(result.data))

    assert not stored.getexif()
    assert "exif" not in stored.info and "icc_profile" not in stored.info and "comment" not in stored.info
    assert b"Acme" not in result.data and b"room 12" not in result.data


def test_strips_text_chunks_from_png():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Someone Private")
    result = validate_image(encoded(picture(), "PNG", pnginfo=info))

    assert b"Someone Private" not in result.data
    assert not Image.open(io.BytesIO(result.data)).text


def test_sha256_is_of_the_stored_bytes_and_stable():
    data = encoded(picture(64, 48), "JPEG", quality=95)
    first, second = validate_image(data), validate_image(data)

    assert first.sha256 == second.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.data == second.data


def test_the_same_photo_with_other_metadata_is_a_duplicate():
    pixels = picture(64, 48)
    one = validate_image(jpeg_with_metadata(pixels, "Acme Camera"))
    other = validate_image(jpeg_with_metadata(pixels, "Other Camera"))

    assert one.sha256 == other.sha256


def test_transparency_is_composited_onto_white():
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    result = validate_image(encoded(rgba, "PNG"))

    assert result.pixels.shape == (10, 10, 3)
    assert (result.pixels == 255).all()


def test_sixteen_bit_grey_keeps_its_tones():
    grey = np.full((8, 8), 40_000, dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")

    pixels = decode_image(buffer.getvalue()).pixels

    assert abs(int(pixels[0, 0, 0]) - 40_000 * 255 // 65535) <= 1
