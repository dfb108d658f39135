"""Fuzzing decode(): whatever the bytes, only EngineError subclasses may come out."""

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from imagegen.engine import EngineError, decode


def _samples() -> list[bytes]:
    rng = np.random.default_rng(3)
    rgba = PILImage.fromarray(rng.integers(0, 256, (12, 10, 4), dtype=np.uint8), "RGBA")
    out = []
    for fmt, img, kw in [
        ("PNG", rgba, {}),
        ("JPEG", rgba.convert("RGB"), {"quality": 80}),
        ("GIF", rgba.convert("P"), {}),
        ("WEBP", rgba, {"quality": 80}),
        ("PNG", rgba.convert("I;16"), {}),
    ]:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    return out


SAMPLES = _samples()
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_engine_error(data: bytes) -> None:
    try:
        img = decode(data, max_pixels=4_000_000)
    except EngineError:
        return
    assert img.rgb.shape[0] == 3 and img.rgb.dtype.is_floating_point
    assert float(img.rgb.min()) >= 0 and float(img.rgb.max()) <= 1


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _decode_or_engine_error(data)


@FUZZ
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_images(index, flips, cut):
    data = bytearray(SAMPLES[index])
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _decode_or_engine_error(bytes(data))
