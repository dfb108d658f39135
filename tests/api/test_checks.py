"""System checks catch mistakes in the API and webhook settings."""
from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

pytestmark = pytest.mark.django_db


def ids(**imagegen) -> set[str]:
    with override_settings(IMAGEGEN=imagegen):
        return {m.id for m in run_checks() if m.id and m.id.startswith("imagegen.E05")}


def test_the_demo_settings_pass():
    assert {m.id for m in run_checks() if m.id and m.id.startswith("imagegen.E05")} == set()


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"API_SOURCE_VISIBILITY": "shop.catalogue.api.nope"}, "imagegen.E050"),
        ({"API_SOURCE_VISIBILITY": "shop.catalogue.api.ProductPagination.page_size"}, "imagegen.E050"),
        ({"API_PARENT_FILTERS": {"product": {"shop.nothing": "product"}}}, "imagegen.E051"),
        ({"API_PARENT_FILTERS": {"product": {"shop.productimage": "produkt"}}}, "imagegen.E051"),
        ({"API_REQUEST_RATE": "lots"}, "imagegen.E052"),
        ({"API_MAX_SOURCES": 0}, "imagegen.E053"),
        ({"WEBHOOK_RETRY_DELAYS": [10, -1]}, "imagegen.E054"),
        ({"WEBHOOK_ALLOWED_HOSTS": ["hooks.example.com"], "WEBHOOK_SECRET": ""}, "imagegen.E055"),
        ({"WEBHOOK_ALLOWED_HOSTS": ["*"], "WEBHOOK_SECRET": "s"}, "imagegen.E056"),
    ],
)
def test_mistakes_are_reported(settings, expected):
    assert expected in ids(**settings)


def test_good_values_pass():
    assert ids(API_REQUEST_RATE=None, API_PARENT_FILTERS={"product": {"shop.productimage": "product__slug"}}) == set()
