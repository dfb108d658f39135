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
