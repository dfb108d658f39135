"""seed_demo's closing line says what it did (issue 14: a second run printed "Created 0
products with 0 images and 5 styles; skipped 24 already present")."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from shop.catalogue.management.commands.seed_demo import summary
from shop.catalogue.models import Product, ProductImage


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, size=64, **options)
    return out.getvalue().strip().splitlines()[-1]


@pytest.mark.django_db
def test_a_second_seed_says_nothing_was_new():
    first = seed(count=3)
    images = ProductImage.objects.count()
    assert (Product.objects.count(), images) == (3, 5)  # every other product has a second view
    assert first == "Created 3 products with 5 images and 5 demo styles."

    second = seed(count=3)
    assert second == "Nothing new: 3 products, 5 images and 5 demo styles were already there."
    assert (Product.objects.count(), ProductImage.objects.count()) == (3, 5)

    more = seed(count=4)
    assert more == "Created 1 product with 1 image; 3 products, 5 images and 5 demo styles were already there."


def test_summary_wording():
    assert summary((0, 0, 0), (1, 1, 0)) == "Nothing new: 1 product and 1 image were already there."
    assert summary((2, 3, 0), (0, 0, 5), deleted=2) == (
        "Created 2 products with 3 images; 5 demo styles were already there; deleted 2 products first."
    )
    assert summary((0, 0, 0), (0, 0, 0)) == "Nothing to do: no products asked for."
