"""imagegen_cleanup on local files and on S3: it removes rows whose source is gone and files
no row references, only under the variant folder, dry-run by default."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from imagegen.cleanup import cleanup
from imagegen.conf import conf
from imagegen.models import Variant
from imagegen.storage import save_content, variant_storage
from shop.catalogue.models import ProductImage

from ..conftest import png_bytes
from ..integration.helpers import make_product, upload, variants_of
from .fixtures import use_s3

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, settings, tmp_path, monkeypatch) -> str:
    if request.param == "local":
        settings.MEDIA_ROOT = str(tmp_path)  # an empty media folder of its own
    else:
        use_s3(monkeypatch, settings, request.getfixturevalue("moto_server"), IMAGEGEN_STORAGE="s3")
    return request.param


def ready(variant: Variant, data: bytes) -> str:
    name = save_content(data, "WEBP")
    Variant.objects.filter(pk=variant.pk).update(status=Variant.Status.READY, file=name)
    return name


@pytest.fixture
def scene(storage_kind) -> dict[str, object]:
    """A live source with a ready variant, a deleted source whose row remains, an orphan
    file, and files outside the variant folder that must survive whatever happens."""
    live = upload(make_product(), png_bytes(color=(200, 0, 0, 255)))
    (live_row,) = variants_of(live)
    live_file = ready(live_row, b"live variant bytes")

    gone = upload(make_product(), png_bytes(color=(0, 200, 0, 255)))
    (gone_row,) = variants_of(gone)
    gone_file = ready(gone_row, b"variant of a deleted source")
    # Deleted behind the signal's back (raw SQL, another app...): the row is left over.
    ProductImage.objects.filter(pk=gone.pk)._raw_delete(ProductImage.objects.db)

    orphan_file = save_content(b"nobody references me", "WEBP")
    storage = variant_storage()
    # A look-alike folder and a source upload: outside "imagegen/variants/", never touched.
    lookalike = storage.save(f"{conf.UPLOAD_TO}-old/keep.webp", ContentFile(b"x"))
    # A source image stored inside the variant folder by a careless host: protected.
    inside = storage.save(f"{conf.UPLOAD_TO}/sources/photo.png", ContentFile(png_bytes()))
    ProductImage.objects.filter(pk=live.pk).update(image=inside)
    return {
        "live_row": live_row,
        "gone_row": gone_row,
        "live_file": live_file,
        "gone_file": gone_file,
        "orphan_file": orphan_file,
        "keep": [lookalike, inside, live.image.name, gone.image.name],
    }


def test_dry_run_reports_and_deletes_nothing(scene):
    report = cleanup(min_age=0)

    assert report.dry_run
    assert [label.split()[0] for label in report.rows_without_source] == [f"#{scene['gone_row'].pk}"]
    assert sorted(report.orphan_files) == sorted([scene["gone_file"], scene["orphan_file"]])
    assert report.rows_deleted == report.files_deleted == 0
    storage = variant_storage()
    for name in (scene["live_file"], scene["gone_file"], scene["orphan_file"]):
        assert storage.exists(name)
    assert Variant.objects.filter(pk=scene["gone_row"].pk).exists()


def test_delete_removes_rows_without_source_and_unreferenced_files_only(scene):
    report = cleanup(delete=True, min_age=0)

    assert report.rows_deleted == 1 and report.files_deleted == 2
    assert not Variant.objects.filter(pk=scene["gone_row"].pk).exists()
    assert Variant.objects.filter(pk=scene["live_row"].pk, status=Variant.Status.READY).exists()
    storage = variant_storage()
    assert storage.exists(scene["live_file"])
    assert not storage.exists(scene["gone_file"]) and not storage.exists(scene["orphan_file"])
    for name in scene["keep"]:
        assert storage.exists(name) or default_storage.exists(name), name
    # Nothing is left to do.
    again = cleanup(delete=True, min_age=0)
    assert again.rows_deleted == again.files_deleted == 0 and not again.orphan_files


def test_recent_unreferenced_files_are_kept(scene):
    # A worker writes the file a moment before the row that references it.
    report = cleanup(delete=True)  # default min_age: one hour

    assert report.files_deleted == 0
    assert sorted(report.kept_recent) == sorted([scene["gone_file"], scene["orphan_file"]])
    assert variant_storage().exists(scene["orphan_file"])
    assert report.rows_deleted == 1  # rows are not subject to the age rule


def test_a_file_shared_by_a_live_row_is_never_deleted(scene):
    # Content-addressed names: the same bytes for two variants mean one file, two rows.
    Variant.objects.filter(pk=scene["gone_row"].pk).update(file=scene["live_file"])

    cleanup(delete=True, min_age=0)

    assert variant_storage().exists(scene["live_file"])


def test_command_output_says_what_it_did(storage_kind, scene):
    out = io.StringIO()
    call_command("imagegen_cleanup", "--min-age", "0", stdout=out)
    text = out.getvalue()
    assert "DRY RUN" in text
    assert "Rows whose source is gone: 1 would delete" in text
    assert "Unreferenced variant files: 2 would delete" in text
    assert scene["orphan_file"] in text

    out = io.StringIO()
    call_command("imagegen_cleanup", "--delete", "--min-age", "0", stdout=out)
    text = out.getvalue()
    assert "DRY RUN" not in text
    assert "Rows whose source is gone: 1 deleted" in text
    assert "Unreferenced variant files: 2 deleted" in text
