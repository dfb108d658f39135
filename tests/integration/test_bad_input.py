"""Whatever a supplier uploads, through the real upload path and a real worker: a clear error
on the variant, or a correct output — never a crash, never a lost original."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

import imagegen
from imagegen.models import Style, Variant

from ..conftest import png_bytes
from .helpers import make_product, upload, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid, tiny PNG whose header declares huge dimensions (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    image = Image.new("RGB", (200, 100), (250, 250, 250))
    image.paste((200, 0, 0), (0, 0, 40, 40))  # a red mark top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 48), color) for color in ((200, 0, 0), (0, 200, 0), (0, 0, 200))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def palette_with_transparency() -> bytes:
    image = Image.new("P", (80, 60), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    image.paste(1, (20, 15, 60, 45))
    return encode(image, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    import numpy as np

    values = np.tile(np.linspace(0, 65535, 96, dtype=np.uint16), (64, 1))
    return encode(Image.fromarray(values), "PNG")


GOOD = {
    "cmyk.jpg": lambda: encode(Image.new("CMYK", (90, 70), (0, 200, 200, 0)), "JPEG"),
    "deep.png": sixteen_bit_png,
    "palette.png": palette_with_transparency,
    "la.png": lambda: encode(Image.new("LA", (70, 50), (128, 200)), "PNG"),
    "transparent.png": lambda: png_bytes(size=(100, 80)),
    "rotated.jpg": exif_rotated_jpeg,
    "animated.gif": animated_gif,
    "really-a-png.jpg": lambda: png_bytes(size=(64, 64)),
}

BAD = {
    # name: (bytes, words the admin's message must contain)
    "empty.jpg": (lambda: b"", "empty"),
    "page.jpg": (lambda: b"<!doctype html><html><body>Oops</body></html>", "html"),
    "logo.svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>', "svg"),
    "cut.png": (lambda: png_bytes(size=(300, 300))[:400], "truncated"),
    "cut.jpg": (lambda: encode(Image.new("RGB", (300, 300), (10, 200, 90)), "JPEG")[:300], "truncated"),
    "bomb.png": (lambda: png_claiming(100_000, 100_000), "pixels"),
}


def test_good_inputs_of_every_kind_come_out_right(worker):
    uploads = {name: upload(make_product(), make(), name=name) for name, make in GOOD.items()}
    results = {name: wait_settled(image)[0] for name, image in uploads.items()}

    for name, variant in results.items():
        assert variant.status == Variant.Status.READY, (name, variant.error)
        assert default_storage.open(uploads[name].image.name).read() == GOOD[name]()  # original untouched

    assert (results["rotated.jpg"].width, results["rotated.jpg"].height) == (100, 200)  # upright
    assert "first frame of 3" in results["animated.gif"].metrics["note"]
    for name in ("palette.png", "transparent.png", "la.png"):
        out = Image.open(default_storage.open(results[name].file.name))
        assert out.mode == "RGBA", name
    assert Image.open(default_storage.open(results["palette.png"].file.name)).getpixel((0, 0))[3] == 0
    assert Image.open(default_storage.open(results["la.png"].file.name)).getpixel((0, 0))[3] == 200


def test_transparent_products_get_a_white_background_in_jpeg(worker):
    image = upload(make_product(), png_bytes(size=(120, 90)))
    wait_settled(image)
    style = Style.objects.create(slug="sketch-jpeg", name="Sketch", processor="sketch", parameters={})
    (variant,) = imagegen.request_variants(image, "image", [style], format="jpeg")
    (_, variant) = sorted(wait_settled(image), key=lambda v: v.spec_name)
    assert variant.spec_name == "sketch-jpeg" and variant.format == "JPEG", variant.error
    corner = Image.open(default_storage.open(variant.file.name)).convert("RGB").getpixel((0, 0))
    assert min(corner) >= 245, corner  # white, not black


def test_bad_inputs_fail_with_a_message_an_admin_understands(worker):
    uploads = {name: upload(make_product(), make(), name=name) for name, (make, _) in BAD.items()}
    for name, image in uploads.items():
        (variant,) = wait_settled(image)
        words = BAD[name][1]
        assert variant.status == Variant.Status.FAILED, name
        assert words in variant.error.lower(), (name, variant.error)
        assert not variant.file
        assert default_storage.open(image.image.name).read() == BAD[name][0]()


def test_pixel_limit_is_enforced_before_decoding(worker):
    big = encode(Image.new("L", (12_000, 12_000), 200), "PNG")  # 144 MP in ~150 kB
    image = upload(make_product(), big, name="huge.png")
    (variant,) = wait_settled(image)
    assert variant.status == Variant.Status.FAILED
    assert "12000" in variant.error and "pixel" in variant.error.lower(), variant.error


def test_broken_style_files_fail_the_variant_not_the_worker(worker):
    image = upload(make_product())
    wait_settled(image)
    broken_look = Style(slug="broken-look", name="Broken look", processor="look", parameters={})
    broken_look.reference.save("ref.jpg", ContentFile(b"\xff\xd8\xff\xe0 not really a jpeg"), save=True)
    broken_lut = Style(slug="broken-lut", name="Broken LUT", processor="lut", parameters={})
    rows = ["0 0 0", "1 0 0", "0 1 0", "1 1 banana", "0 0 1", "1 0 1", "0 1 1", "1 1 1"]
    broken_lut.reference.save("bad.cube", ContentFile(("LUT_3D_SIZE 2\n" + "\n".join(rows) + "\n").encode()), save=True)
    imagegen.request_variants(image, "image", [broken_look, broken_lut])

    rows = {v.spec_name: v for v in wait_settled(image)}
    assert rows["broken-look"].status == Variant.Status.FAILED
    assert "reference image could not be read" in rows["broken-look"].error
    assert rows["broken-lut"].status == Variant.Status.FAILED
    assert "lut" in rows["broken-lut"].error.lower() and "line" in rows["broken-lut"].error.lower(), rows["broken-lut"].error
    assert rows["sketch"].status == Variant.Status.READY
