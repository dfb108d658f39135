"""Training settings checks and the admin's server-drawn loss curve."""
from __future__ import annotations

import pytest

from imagegen.training.checks import check_training_settings
from imagegen.training.plots import loss_curve_svg


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_training_settings_are_checked(settings):
    settings.IMAGEGEN = {**settings.IMAGEGEN, "TRAINING_LABEL": "product.category.slug"}
    assert check_training_settings() == []
    settings.IMAGEGEN = {**settings.IMAGEGEN, "TRAINING_LABEL": "product..slug", "MEMORISATION_THRESHOLD": 2, "TRAINING_JOB_TIMEOUT": 0}
    assert ids(check_training_settings()) == ["imagegen.E040", "imagegen.E041", "imagegen.E042"]


def test_loss_curve_svg_draws_one_line_per_loss_and_escapes_names():
    history = [{"step": s, "loss_d": 1.0 / s, "<b>": 0.5} for s in range(1, 6)]
    svg = loss_curve_svg(history)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert loss_curve_svg([]) == ""
    # A flat or single-point history still draws (no division by zero).
    assert "<polyline" in loss_curve_svg([{"step": 3, "l1": 0.1}])


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_loss_curve_skips_non_finite_points(value):
    svg = loss_curve_svg([{"step": 1, "l1": 0.2}, {"step": 2, "l1": value}, {"step": 3, "l1": 0.1}])
    assert "nan" not in svg and "inf" not in svg


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # what Chromium's sans-serif is on Debian


def text_width(text: str, px: int) -> float:
    """The rendered width of ``text``: DejaVu Sans (wide; Chromium's sans-serif on Debian) when
    installed, else a generous 0.62 em per character."""
    import os

    from PIL import ImageFont

    if os.path.exists(DEJAVU):
        return ImageFont.truetype(DEJAVU, px).getlength(text)
    return 0.62 * px * len(text)


@pytest.mark.parametrize("keys", [["loss_d", "loss_g", "d_accuracy"], ["loss_pixel", "loss_perceptual", "d_accuracy_held_out"]])
def test_loss_curve_legend_fits_inside_the_chart(keys):
    """Issue 14: the legend ran past the chart's right edge ("d_accur")."""
    import re

    svg = loss_curve_svg([{"step": s, **{k: 1.0 / (s + i) for i, k in enumerate(keys)}} for s in range(1, 6)])
    view_w = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    font_px = int(re.search(r"font:(\d+)px", svg).group(1))
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" fill="#333">([^<]+)</text>', svg)
    assert [name for _, name in labels] == keys
    for x, name in labels:
        assert float(x) + text_width(name, font_px) <= view_w - 4, (name, x, view_w)
    # on a page narrower than the chart it scales down rather than being clipped
    assert "width:100%" in svg and f"max-width:{view_w:g}px" in svg and "height:auto" in svg
