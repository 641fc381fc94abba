"""Uploaded images checked and normalised: JPEG, PNG or WebP by content, bounded in bytes and pixels.

Used wherever an image enters Aula (the upload page, the scoring API, labelled-zip imports). The format is
identified from the bytes by Pillow, never from the file name, and only the JPEG, PNG and WebP decoders are
tried. The pixel count is read from the header and checked before anything is decoded, so a decompression bomb
(a small file declaring an enormous image) is refused without allocating it; Pillow's own bomb guard is caught
too. Truncated or corrupt files are refused with `ImageRejectedError`, whose message a person can act on.

`validate_image` applies the EXIF orientation and re-encodes the pixels into a fresh image in the same format,
so no metadata survives (EXIF with GPS and camera serials, XMP, ICC profiles, comments); the stored bytes and their
sha256 then depend only on the pixels, and a re-upload of the same photo with other metadata is a duplicate.
Alpha is composited onto white. Animated files keep their first frame.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 90
WEBP_QUALITY = 90
_SAVE_OPTIONS = {"JPEG": {"quality": JPEG_QUALITY}, "PNG": {}, "WEBP": {"quality": WEBP_QUALITY}}
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError)


class ImageRejectedError(ValueError):
    """An upload that is not an acceptable image; `reason` is a short code, the message says what to do."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason  # empty | too_large | not_image | too_many_pixels | corrupt


@dataclass(frozen=True)
class DecodedImage:
    """Pixels of a checked image, EXIF orientation applied."""

    pixels: np.ndarray  # (height, width, 3) uint8 RGB
    format: str  # JPEG | PNG | WEBP

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, kw_only=True)
class ValidatedImage(DecodedImage):
    """A checked image re-encoded without metadata: what is stored, content-addressed by `sha256`."""

    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        """Bytes of the normalised file."""
        return len(self.data)


def validate_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> ValidatedImage:
    """Check `data`, apply its EXIF orientation and re-encode it without metadata.

    Raises ImageRejectedError when the file is empty, too large, not a JPEG/PNG/WebP, has too many pixels, or
    is truncated or corrupt.
    """
    decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    normalised = encode_pixels(decoded.pixels, decoded.format)
    return ValidatedImage(
        pixels=decoded.pixels,
        format=decoded.format,
        data=normalised,
        sha256=hashlib.sha256(normalised).hexdigest(),
    )


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Check `data` and decode it to RGB pixels with the EXIF orientation applied (no re-encoding)."""
    if not data:
        raise ImageRejectedError("empty", "The file is empty.")
    if len(data) > max_bytes:
        raise ImageRejectedError(
            "too_large", f"The file is {_mb(len(data))} MB; images may be at most {_mb(max_bytes)} MB."
        )
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageRejectedError(
            "not_image", "This file is not a JPEG, PNG or WebP image (its content was checked, not its name)."
        ) from exc
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(None, max_pixels) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt() from exc
    with image:
        image_format, (width, height) = str(image.format), image.size
        if width * height > max_pixels:  # from the header, before any pixel is decoded
            raise _too_many_pixels((width, height), max_pixels)
        try:
            image.load()
            image = ImageOps.exif_transpose(image) or image
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels((width, height), max_pixels) from exc
        except _DECODE_ERRORS as exc:
            raise _corrupt() from exc
        return DecodedImage(pixels=_rgb_pixels(image), format=image_format)


def encode_pixels(pixels: np.ndarray, image_format: str) -> bytes:
    """RGB pixels as a fresh file in `image_format`, with no metadata; deterministic for equal pixels."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format=image_format, **_SAVE_OPTIONS[image_format])
    return buffer.getvalue()


def _rgb_pixels(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I"):  # 16/32-bit grey PNG: keep the top 8 bits
        grey = np.asarray(image, dtype=np.int64)
        peak = 65535 if image.mode.startswith("I;16") or grey.max(initial=0) > 255 else 255
        image = Image.fromarray((np.clip(grey, 0, peak) * 255 // peak).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> ImageRejectedError:
    stated = f"The image is {size[0]}×{size[1]} pixels" if size else "The image declares an enormous size"
    return ImageRejectedError(
        "too_many_pixels", f"{stated}; images may have at most {max_pixels / 1e6:g} megapixels. Resize it and retry."
    )


def _corrupt() -> ImageRejectedError:
    return ImageRejectedError(
        "corrupt", "The image is damaged or incomplete (truncated) and cannot be read; export or copy it again."
    )


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f}".rstrip("0").rstrip(".")
