"""Reading a gate payload from what a gate operator has: a file, pasted text, or a QR image.

QR images are decoded with ``zxing-cpp`` (PyPI ``zxing-cpp`` 3.1.1): its wheel bundles the C++
decoder, so no system library is needed (``pyzbar`` would need Debian's ``libzbar0``), and it
reads Pillow images directly.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from fairgate.errors import ProofError, ToolchainError

__all__ = ["decode_qr_image", "read_payload"]

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")


def decode_qr_image(data: bytes) -> str:
    """The text of the (first) QR code in an image; ProofError when there is none."""
    try:
        import zxingcpp
    except ImportError:
        raise ToolchainError(
            "reading QR images needs the zxing-cpp package (pip install zxing-cpp==3.1.1); "
            "give the payload text instead"
        ) from None

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise ProofError("the image could not be read") from None
    results = zxingcpp.read_barcodes(image.convert("L"))
    texts = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode and r.text]
    if not texts:
        raise ProofError("no QR code found in the image")
    return texts[0]


def read_payload(source: str) -> str:
    """Payload text from ``-`` (stdin), a text file, or an image file holding a QR code."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise ProofError(f"file {source} not found") from None
        except OSError as exc:
            raise ProofError(f"cannot read {source}: {exc.strerror}") from None
    if data.startswith(_IMAGE_MAGIC):
        return decode_qr_image(data)
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ProofError("the input is neither a payload nor a QR image") from None
    return text.removeprefix("payload ").strip()
