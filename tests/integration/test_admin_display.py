"""Figures and options on variant cards, in the words a merchandiser reads."""
from __future__ import annotations

from imagegen.admin.display import figures, options, publication
from imagegen.models import Variant


def test_figures_are_plain_words_with_the_raw_number_on_hover():
    variant = Variant(metrics={"product_delta_e": 1.234, "content_ssim": 0.9912, "style_distance": 0.1}, timings={"process_ms": 900, "save_ms": 300})
    rows = {label: (value, raw) for label, value, raw in figures(variant)}
    assert rows["product colours kept"] == ("ΔE 1.2 (unchanged to the eye)", "product_delta_e (ΔE2000 inside the product) = 1.234")
    assert rows["product shape kept"][0] == "99%" and "0.9912" in rows["product shape kept"][1]
    assert rows["made in"] == ("1.2 s", "process_ms 900, save_ms 300")
    assert figures(Variant(metrics={"product_delta_e": 7.0}))[0][1] == "ΔE 7.0 (changed)"


def test_cards_name_only_options_that_differ_from_the_defaults():
    assert options(Variant(parameters={"strength": 1.0, "preserve_colors": False, "preserve_product": "off", "preserve_amount": 0.75})) == ""
    assert options(Variant(parameters={"strength": 0.8, "preserve_colors": True, "preserve_product": "product"})) == "strength 0.8, colours kept, product kept"
    assert options(Variant(parameters={"max_input": 512})) == ""  # an enhance card says nothing about strength


def test_publication_in_words():
    assert publication(Variant(status=Variant.Status.READY, is_published=False)) == "awaiting approval"
    assert publication(Variant(status=Variant.Status.READY, is_published=False, review=Variant.Review.REJECTED)) == "rejected"
    assert publication(Variant(status=Variant.Status.READY, is_published=True)) == ""
    assert publication(Variant(status=Variant.Status.PENDING)) == ""


def test_a_variant_reads_as_what_it_is_in_titles_and_messages(db, django_assert_num_queries):
    from django.contrib.contenttypes.models import ContentType

    from tests.integration.helpers import make_product, upload

    image = upload(make_product())
    variant = Variant.objects.filter(object_id=str(image.pk), spec_name="sketch").get()
    ContentType.objects.get_for_id(variant.content_type_id)  # warm the cache, as any admin page has
    with django_assert_num_queries(0):
        text = str(variant)
    assert text == f"Sketch of product image #{image.pk}, pending"
