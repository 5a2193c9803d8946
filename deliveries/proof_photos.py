"""Photos that prove a delivery: checked by their content, cleaned, and stored under a name nobody can guess.

A phone's photo carries where and when it was taken in its EXIF data; the portal keeps its own
record of both in the ledger, so the photo is stored without it, turned upright, at most 1600 px.
"""

import hashlib
import secrets
import warnings
from dataclasses import dataclass
from io import BytesIO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600
# Refuse images that would unpack to more pixels than any phone takes (a "decompression bomb").
MAX_PIXELS = 50_000_000
FORMATS = {"JPEG", "PNG", "WEBP"}


@dataclass(frozen=True)
class StoredPhoto:
    name: str  # in default_storage
    sha256: str  # of the stored file, sealed into the ledger so a swapped file shows


def proof_photo_save(upload) -> StoredPhoto:
    """Check an uploaded photo, clean it and store it.

    A file that is not a JPEG, PNG or WebP image by its content, is over 8 MB, or would unpack to
    an absurd size raises ValidationError keyed `photo`, and nothing is stored.
    """
    if upload.size > MAX_BYTES:
        raise ValidationError({"photo": f"The photo is {upload.size / 1024 / 1024:.1f} MB; send at most 8 MB."})
    data = upload.read()
    image = _opened(data)
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    cleaned = BytesIO()
    image.convert("RGB").save(cleaned, "JPEG", quality=85, optimize=True)  # no EXIF is written
    name = f"proofs/{timezone.now():%Y/%m}/{secrets.token_urlsafe(24)}.jpg"
    content = cleaned.getvalue()
    return StoredPhoto(
        name=default_storage.save(name, ContentFile(content)), sha256=hashlib.sha256(content).hexdigest()
    )


def _opened(data: bytes) -> Image.Image:
    not_an_image = ValidationError({"photo": "This file is not a photo we can read: send a JPEG, PNG or WebP image."})
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(BytesIO(data))
            if probe.format not in FORMATS:
                raise not_an_image
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError({"photo": "This image is far larger than a phone's photo."})
            probe.verify()
            image = Image.open(BytesIO(data))
            image.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise not_an_image from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError({"photo": "This image is far larger than a phone's photo."}) from None
    return image
