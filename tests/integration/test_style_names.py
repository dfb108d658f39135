"""Built-in styles carry descriptive names, and every list of styles sorts naturally ("Style 2"
before "Style 10"): the admin's Style list, the "Restyle with…" picker, the API and the
storefront's style switcher (issue 14)."""
from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from imagegen.builtin_styles import BUILTIN_NAMES, builtin_slug, numbered_name
from imagegen.models import Style, Variant
from imagegen.natural import natural_key, natural_sorted
from imagegen.requests import request_variants

from .helpers import make_product, upload

# Created in an order that is neither natural nor alphabetical.
NAMES = ["Style 10", "style 2", "Alpha", "Style 1", "Style 21", "Style 3"]
NATURAL = ["Alpha", "Style 1", "style 2", "Style 3", "Style 10", "Style 21"]


def test_natural_key():
    assert natural_sorted(NAMES) == NATURAL
    assert sorted(NAMES) != NATURAL  # what plain sorting gives: 1, 10, 2, 21, 3
    assert natural_key("Mix 2") < natural_key("mix 10") < natural_key("Mix 10b")
    assert natural_sorted(["b2", "10", "a", "2"]) == ["2", "10", "a", "b2"]


@pytest.mark.django_db
def test_builtin_styles_get_descriptive_names_and_old_rows_are_renamed():
    Style.objects.create(slug=builtin_slug(3), name=numbered_name(3), processor="style", parameters={"style": 3})
    Style.objects.create(slug=builtin_slug(4), name="Our autumn look", processor="style", parameters={"style": 4})
    out = io.StringIO()
    call_command("imagegen_builtin_styles", stdout=out)
    assert "24 created, 2 already there, 1 renamed" in out.getvalue()
    names = dict(Style.objects.filter(slug__startswith="builtin-style-").values_list("slug", "name"))
    assert len(names) == 26 and len(set(names.values())) == 26
    assert names[builtin_slug(3)] == BUILTIN_NAMES[3] == "Blue and orange shards"  # the numbered default is replaced
    assert names[builtin_slug(4)] == "Our autumn look"  # an admin's own name is kept
    assert not any(re.fullmatch(r"Built-in style \d+", name) for name in names.values())

    call_command("imagegen_builtin_styles", rename=True, stdout=io.StringIO())
    assert Style.objects.get(slug=builtin_slug(4)).name == BUILTIN_NAMES[4]  # --rename: every one


@pytest.fixture
def styles(db) -> list[Style]:
    return [
        Style.objects.create(slug=f"s-{i}", name=name, processor="sketch", parameters={"strength": 0.5 + i / 20}, show_on_storefront=True)
        for i, name in enumerate(NAMES)
    ]


@pytest.mark.django_db
def test_admin_style_list_and_restyle_picker_sort_naturally(client, styles):
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    client.login(username="admin", password="admin")
    page = client.get("/admin/imagegen/style/").content.decode()
    listed = re.findall(r'<th class="field-name"><a [^>]*>([^<]+)</a>', page) or re.findall(
        r'class="field-name"[^>]*>(?:<a [^>]*>)?([^<]+)<', page
    )
    assert listed == NATURAL, listed

    from imagegen.admin.forms import RestyleForm

    picked = [style.name for _, items in RestyleForm().style_groups() for style, _ in items]
    assert picked == NATURAL


@pytest.mark.django_db
def test_api_styles_sort_naturally(client, styles):
    body = client.get("/api/imagegen/styles/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["name"] for row in rows] == NATURAL


@pytest.mark.django_db
def test_storefront_switcher_buttons_sort_naturally(client, styles):
    image = upload(make_product("Mug"))
    for variant in request_variants(image, "image", styles):
        Variant.objects.filter(pk=variant.pk).update(
            status=Variant.Status.READY, file=f"imagegen/variants/{variant.pk}.webp", width=64, height=64, format="WEBP",
            is_published=True, finished_at=timezone.now(),
        )
    page = client.get(image.product.get_absolute_url()).content.decode()
    switcher = page.split('class="switcher"', 1)[1].split("</div>", 1)[0]
    labels = [label.strip() for label in re.findall(r"<button[^>]*>(?:<img[^>]*>)?([^<]+)</button>", switcher)]
    assert labels[0] == "Original"
    assert [label for label in labels if label in NAMES] == NATURAL, labels
