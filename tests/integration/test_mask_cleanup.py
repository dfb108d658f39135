"""imagegen_cleanup and stored product masks: a mask file is kept while its content has
variants, and the mask (row and file) goes once no variant refers to that content."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from imagegen.cleanup import cleanup
from imagegen.models import ProductMask, Variant
from imagegen.storage import save_content, variant_storage

from ..conftest import png_bytes
from .helpers import make_product, upload, variants_of

pytestmark = pytest.mark.django_db


def stored_mask(source_hash: str, shade: int) -> ProductMask:
    name = save_content(png_bytes(size=(40, 30), color=(shade, shade, shade, 255), mode="RGBA"), "PNG")
    return ProductMask.objects.create(source_hash=source_hash, segmenter="u2netp@test", file=name, width=40, height=30, coverage=0.4)


def test_masks_in_use_are_kept_and_unused_ones_are_removed(redis_conn):
    image = upload(make_product())
    in_use = stored_mask(variants_of(image).first().source_hash, 10)
    unused = stored_mask("f" * 64, 200)
    storage = variant_storage()

    dry = cleanup(delete=False, min_age=0)
    assert dry.unused_masks == [str(unused)] and in_use.file.name not in dry.orphan_files
    assert ProductMask.objects.count() == 2

    report = cleanup(delete=True, min_age=0)

    assert report.masks_deleted == 1 and unused.file.name in report.orphan_files
    assert list(ProductMask.objects.all()) == [in_use]
    assert storage.exists(in_use.file.name) and not storage.exists(unused.file.name)

    # The content's last variant goes: so does its mask.
    Variant.objects.filter(source_hash=in_use.source_hash).delete()
    out = io.StringIO()
    call_command("imagegen_cleanup", "--delete", "--min-age", "0", stdout=out)
    assert "Product masks of content no variant refers to: 1 deleted" in out.getvalue()
    assert not ProductMask.objects.exists() and not storage.exists(in_use.file.name)


def test_a_fresh_mask_is_kept_by_the_minimum_age(redis_conn):
    stored_mask("e" * 64, 90)
    report = cleanup(delete=True, min_age=3600)
    assert report.masks_deleted == 0 and ProductMask.objects.count() == 1
