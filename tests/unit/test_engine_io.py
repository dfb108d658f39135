"""Decoding, encoding and resizing (imagegen.engine.io)."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from PIL import ImageCms, features

from imagegen.engine import DecodeError, Image, ParameterError, decode, encode
from imagegen.engine.errors import ImageTooLargeError
from imagegen.engine.io import from_pil, resize_to_fit, supported_formats, to_pil

PRODUCTS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "products"


def save(pil: PILImage.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, fmt, **kwargs)
    return buf.getvalue()


def px(image: Image, x: int, y: int) -> list[float]:
    return [round(float(v), 4) for v in image.rgb[:, y, x]]


# ----------------------------------------------------------------------------- modes


def test_rgb_png_exact():
    arr = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    img = decode(save(PILImage.fromarray(arr, "RGB"), "PNG"))
    assert (img.width, img.height) == (7, 5)
    assert img.rgb.dtype == torch.float32 and img.rgb.shape == (3, 5, 7)
    assert not img.has_alpha
    assert np.array_equal((img.rgb * 255).round().to(torch.uint8).permute(1, 2, 0).numpy(), arr)
    assert img.info["format"] == "PNG" and img.info["mode"] == "RGB"


def test_rgba_png_alpha():
    arr = np.zeros((4, 4, 4), dtype=np.uint8)
    arr[..., 0] = 255
    arr[..., 3] = [[0, 64, 128, 255]] * 4
    img = decode(save(PILImage.fromarray(arr, "RGBA"), "PNG"))
    assert img.has_alpha and img.alpha.shape == (1, 4, 4)
    assert torch.allclose(img.alpha[0, 0], torch.tensor([0, 64, 128, 255]) / 255.0)
    assert px(img, 3, 0) == [1.0, 0.0, 0.0]


def test_la_and_l_and_1():
    la = PILImage.new("LA", (3, 2), (100, 50))
    img = decode(save(la, "PNG"))
    assert img.has_alpha
    assert torch.allclose(img.rgb, torch.full((3, 2, 3), 100 / 255))
    assert torch.allclose(img.alpha, torch.full((1, 2, 3), 50 / 255))

    img = decode(save(PILImage.new("L", (3, 2), 200), "PNG"))
    assert not img.has_alpha and torch.allclose(img.rgb, torch.full((3, 2, 3), 200 / 255))

    bw = PILImage.new("1", (4, 1), 0)
    bw.putpixel((2, 0), 1)
    img = decode(save(bw, "PNG"))
    assert [px(img, x, 0)[0] for x in range(4)] == [0.0, 0.0, 1.0, 0.0]


def test_palette_with_transparency_gives_alpha():
    p = PILImage.new("P", (4, 4), 0)
    p.putpalette([255, 255, 255, 200, 10, 20] + [0] * 762)
    p.putpixel((1, 1), 1)
    for fmt in ("PNG", "GIF"):
        img = decode(save(p, fmt, transparency=0))
        assert img.has_alpha, fmt
        assert float(img.alpha[0, 0, 0]) == 0.0 and float(img.alpha[0, 1, 1]) == 1.0
        assert px(img, 1, 1) == [round(200 / 255, 4), round(10 / 255, 4), round(20 / 255, 4)]
    # palette without transparency: opaque RGB
    img = decode(save(p, "PNG"))
    assert not img.has_alpha and img.info["mode"] == "P"


def test_cmyk_jpeg_becomes_rgb():
    cmyk = PILImage.new("CMYK", (16, 16), (0, 255, 255, 0))  # full magenta+yellow = red
    img = decode(save(cmyk, "JPEG", quality=95))
    assert img.info["mode"] == "CMYK"
    r, g, b = px(img, 8, 8)
    assert r > 0.9 and g < 0.1 and b < 0.1


def test_16bit_png_is_scaled_not_clipped():
    arr = np.array([[0, 32768, 65535, 4096]], dtype=np.uint16)
    data = save(PILImage.fromarray(arr), "PNG")
    img = decode(data)
    assert img.info["mode"].startswith("I")
    values = img.rgb[0, 0].tolist()
    assert values[0] == 0.0 and values[2] == 1.0
    assert abs(values[1] - 0.5) < 1e-4 and abs(values[3] - 4096 / 65535) < 1e-6
    assert torch.equal(img.rgb[0], img.rgb[1])  # grey replicated


def test_i_and_f_modes():
    i32 = PILImage.fromarray(np.array([[0, 65535, 32768]], dtype=np.int32), "I")
    img = from_pil(i32)
    assert img.rgb[0, 0].tolist() == pytest.approx([0.0, 1.0, 32768 / 65535], abs=1e-6)

    f = PILImage.fromarray(np.array([[0.0, 0.25, 1.0]], dtype=np.float32), "F")
    img = decode(save(f, "TIFF"))
    assert img.info["mode"] == "F"
    assert img.rgb[1, 0].tolist() == pytest.approx([0.0, 0.25, 1.0], abs=1e-6)


def test_lab_tiff_and_binary_formats_that_look_like_text():
    img = decode(save(PILImage.new("LAB", (4, 4), (136, 208, 195)), "TIFF"))  # L 53, a 80, b 67
    r, g, b = px(img, 0, 0)
    assert r > 0.95 and g < 0.05 and b < 0.05  # sRGB red
    # a TGA header is valid UTF-8: it must still decode, not be rejected as "text"
    img = decode(save(PILImage.new("LA", (4, 4), (1, 2)), "TGA"))
    assert img.has_alpha and img.info["format"] == "TGA"


def _linear_rgb_profile() -> bytes:
    """A minimal ICC v2 RGB profile with sRGB primaries but a linear (gamma 1) curve."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 256) + b"\0\0"
    tags = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_icc_profile_is_converted_to_srgb():
    pil = PILImage.new("RGB", (4, 4), (128, 128, 128))
    img = decode(save(pil, "PNG", icc_profile=_linear_rgb_profile()))
    assert img.info["icc"] == "converted to sRGB"
    # linear 0.502 is sRGB ~0.735
    assert abs(px(img, 0, 0)[0] - 0.735) < 0.01

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = decode(save(pil, "PNG", icc_profile=srgb))
    assert abs(px(img, 0, 0)[1] - 128 / 255) < 2 / 255

    img = decode(save(pil, "PNG", icc_profile=b"not a profile"))
    assert img.info["icc"].startswith("ignored")
    assert px(img, 0, 0)[0] == round(128 / 255, 4)


def test_exif_orientation_is_applied():
    pil = PILImage.new("RGB", (40, 20), (0, 0, 255))
    pil.paste((255, 0, 0), (0, 0, 10, 10))  # red block in the stored top-left corner
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img = decode(save(pil, "JPEG", quality=95, exif=exif.tobytes()))
    assert (img.width, img.height) == (20, 40)
    assert px(img, 16, 3)[0] > 0.8  # top-left -> top-right after a clockwise turn
    assert px(img, 3, 3)[0] < 0.2 and px(img, 3, 3)[2] > 0.8


def test_animated_gif_first_frame():
    frames = [PILImage.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = decode(data)
    assert img.info["frames"] == 3 and img.info["note"] == "first frame of 3 used"
    assert px(img, 4, 4) == [1.0, 0.0, 0.0]


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_animated_webp_first_frame():
    frames = [PILImage.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    img = decode(data)
    assert img.info["frames"] == 2
    assert px(img, 4, 4)[0] > 0.95


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (b"hello, this is not an image\n", "text"),
        (b"\x00\x01\x02\x03garbage\xff\xfe" * 10, "not an image"),
    ],
)
def test_not_images(data, words):
    with pytest.raises(DecodeError) as err:
        decode(data)
    assert words in str(err.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files(fmt):
    arr = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = save(PILImage.fromarray(arr), fmt)
    with pytest.raises(DecodeError):
        decode(data[: len(data) // 2])


def _png_with_size(width: int, height: int) -> bytes:
    data = bytearray(save(PILImage.new("RGB", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_decompression_bomb_header():
    with pytest.raises(ImageTooLargeError):
        decode(_png_with_size(100_000, 100_000))
    with pytest.raises(ImageTooLargeError) as err:
        decode(_png_with_size(8000, 8000), max_pixels=1_000_000)
    assert "8000x8000" in str(err.value) and "1,000,000" in str(err.value)
    # a too-large image is still a DecodeError (permanent)
    assert issubclass(ImageTooLargeError, DecodeError)


def test_byte_limit():
    data = save(PILImage.new("RGB", (8, 8)), "PNG")
    with pytest.raises(ImageTooLargeError):
        decode(data, max_bytes=10)


def test_bytearray_accepted():
    data = save(PILImage.new("RGB", (2, 2), (1, 2, 3)), "PNG")
    assert decode(bytearray(data)).width == 2


# ----------------------------------------------------------------------------- encode


def _transparent_product() -> Image:
    rgb = torch.zeros(3, 32, 32)  # black under the transparent background, as in real PNGs
    rgb[1, 8:24, 8:24] = 1.0
    alpha = torch.zeros(1, 32, 32)
    alpha[:, 8:24, 8:24] = 1.0
    return Image(rgb=rgb, alpha=alpha, info={})


@pytest.mark.parametrize("fmt", ["JPEG", "jpg"])
def test_jpeg_of_transparent_image_is_white_not_black(fmt):
    out = PILImage.open(io.BytesIO(encode(_transparent_product(), fmt)))
    assert out.format == "JPEG" and out.mode == "RGB"
    assert min(out.getpixel((1, 1))) > 245
    g = out.getpixel((16, 16))
    assert g[1] > 240 and g[0] < 20
    custom = PILImage.open(io.BytesIO(encode(_transparent_product(), "JPEG", background=(0, 0, 0))))
    assert max(custom.getpixel((1, 1))) < 10


def test_png_and_webp_keep_alpha():
    img = _transparent_product()
    back = decode(encode(img, "PNG"))
    assert torch.equal(back.alpha, img.alpha) and torch.equal(back.rgb, img.rgb)
    if "WEBP" in supported_formats():
        back = decode(encode(img, "webp", quality=90))
        assert back.has_alpha and (back.alpha - img.alpha).abs().max() < 0.02


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_avif_round_trip():
    img = _transparent_product()
    back = decode(encode(img, "AVIF", quality=90))
    assert back.info["format"] == "AVIF" and back.has_alpha
    assert (back.alpha - img.alpha).abs().mean() < 0.02


def test_encode_rejects_bad_arguments():
    img = _transparent_product()
    with pytest.raises(ParameterError, match="format"):
        encode(img, "BMP")
    with pytest.raises(ParameterError, match="quality"):
        encode(img, "JPEG", quality=0)
    assert set(supported_formats()) >= {"JPEG", "PNG"}


def test_to_pil_from_pil():
    img = _transparent_product()
    pil = to_pil(img)
    assert pil.mode == "RGBA" and pil.size == (32, 32)
    assert torch.equal(from_pil(pil).alpha, img.alpha)


# ----------------------------------------------------------------------------- resize


def test_resize_to_fit_downscales_only():
    img = Image(rgb=torch.rand(3, 100, 50), alpha=torch.ones(1, 100, 50), info={})
    small = resize_to_fit(img, 40)
    assert (small.width, small.height) == (20, 40) and small.alpha.shape == (1, 40, 20)
    assert resize_to_fit(img, 200) is img
    assert resize_to_fit(img, None) is img
    with pytest.raises(ParameterError):
        resize_to_fit(img, 0)


def test_resize_does_not_bleed_transparent_colour():
    rgb = torch.zeros(3, 64, 64)
    rgb[:, 16:48, 16:48] = 1.0  # white product, black hidden background
    alpha = (rgb[:1] > 0).float()
    small = resize_to_fit(Image(rgb=rgb, alpha=alpha, info={}), 16)
    edge = (small.alpha[0] > 0.05) & (small.alpha[0] < 0.95)
    assert edge.any()
    assert small.rgb[:, edge].min() > 0.95  # edge pixels keep the product colour


def test_real_product_photo():
    if not PRODUCTS.is_dir():
        pytest.skip(f"product photos not found at {PRODUCTS} (only present in development/CI)")
    path = sorted(PRODUCTS.glob("*.png"))[0]
    img = decode(path.read_bytes())
    assert (img.width, img.height) == (2160, 2160) and img.has_alpha
    assert float(img.alpha[0, 0, 0]) == 0.0  # transparent background
    assert 0.01 < float((img.alpha > 0.5).float().mean()) < 0.9
    jpeg = PILImage.open(io.BytesIO(encode(resize_to_fit(img, 256), "JPEG")))
    assert min(jpeg.getpixel((0, 0))) > 245
