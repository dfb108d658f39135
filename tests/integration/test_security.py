"""Admin security for imagegen: actions that cost GPU time are CSRF-protected, and who may see
variants and run actions, as a matrix (anonymous, staff without imagegen permissions, staff
allowed to request work, staff allowed to request and delete). Queues are real Redis."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from imagegen.models import Variant
from imagegen.queue import get_queue

from .helpers import make_product, make_styles, upload

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit enqueues must run

CHANGELIST = "admin:shop_productimage_changelist"
SHOP_PERMS = ["view_product", "change_product", "view_productimage", "add_productimage", "change_productimage"]
ROLES = {
    # staff who keep the catalogue but may not spend GPU time or see imagegen's data
    "clerk": SHOP_PERMS,
    # may look at variants and ask for work (regenerate, restyle), not delete
    "requester": [*SHOP_PERMS, "view_variant", "request_variant"],
    # everything imagegen offers in the admin
    "editor": [*SHOP_PERMS, "view_variant", "change_variant", "delete_variant", "request_variant"],
}


@pytest.fixture
def catalogue(redis_conn):
    """Two product photos whose variants are all ready, and nothing queued."""
    styles = make_styles()
    images = [upload(make_product("Sec")) for _ in range(2)]
    Variant.objects.update(status=Variant.Status.READY, file="imagegen/variants/ab/cd/abcd.webp", width=10, height=10)
    redis_conn.flushdb()  # the uploads' own jobs: only what the requests below queue counts
    return styles, images


def make_staff(role: str) -> User:
    user = User.objects.create_user(role, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=ROLES[role]))
    return user


def queued() -> int:
    return sum(get_queue(key).count for key in ("high", "default", "bulk"))


def snapshot() -> list[tuple]:
    return list(Variant.objects.order_by("pk").values_list("pk", "status", "queue", "attempts", "spec_name", "parameters"))


def action_data(action: str, images, styles) -> dict:
    data = {"action": action, "_selected_action": [str(image.pk) for image in images]}
    if action == "imagegen_restyle":  # the form's "apply" step, which queues the work
        data.update(apply="1", styles=[str(styles["vintage"].pk)], strength="0.6", format="webp", priority="high", preserve_product="off")
    return data


def assert_action_took_effect(action: str, images, before: list[tuple]) -> None:
    rows = Variant.objects.filter(object_id__in=[str(image.pk) for image in images])
    if action == "imagegen_delete_variants":
        assert not rows.exists()
        assert queued() == 0
    elif action == "imagegen_regenerate":
        assert {(v.status, v.queue) for v in rows} == {(Variant.Status.PENDING, "imagegen-high")}
        assert get_queue("high").count == len(images)  # one job per source
    else:  # restyle: one new vintage variant per image, strength 0.6, queued at high priority
        new = rows.filter(spec_name="vintage", parameters__strength=0.6)
        assert new.count() == len(images) and {v.status for v in new} == {Variant.Status.PENDING}
        assert get_queue("high").count == len(images)
    assert snapshot() != before


ACTIONS = ["imagegen_regenerate", "imagegen_restyle", "imagegen_delete_variants"]


# --- CSRF ---------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ACTIONS)
def test_admin_actions_without_a_csrf_token_are_refused_and_queue_nothing(catalogue, action):
    styles, images = catalogue
    admin = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client(enforce_csrf_checks=True)  # as a browser is treated: the test client skips CSRF otherwise
    client.force_login(admin)
    url = reverse(CHANGELIST)
    data = action_data(action, images, styles)
    before = snapshot()

    # A cross-site form post carries the session cookie but not the token.
    refused = client.post(url, data)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    # A forged token, or the right token sent from another site's page, fares no better.
    client.get(url)  # the changelist sets the csrftoken cookie, as for a real admin
    token = client.cookies["csrftoken"].value
    assert client.post(url, {**data, "csrfmiddlewaretoken": "x" * 64}).status_code == 403
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert snapshot() == before and queued() == 0

    # The same post from the admin's own page (token and origin right) works: the 403s were CSRF.
    accepted = client.post(url, {**data, "csrfmiddlewaretoken": token}, HTTP_ORIGIN="http://testserver")
    assert accepted.status_code == 302
    assert_action_took_effect(action, images, before)


def test_variant_publish_actions_need_a_csrf_token_too(catalogue):
    admin = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    Variant.objects.update(is_published=False)
    ids = [str(pk) for pk in Variant.objects.values_list("pk", flat=True)]
    response = client.post(reverse("admin:imagegen_variant_changelist"), {"action": "publish", "_selected_action": ids})
    assert response.status_code == 403
    assert not Variant.objects.filter(is_published=True).exists()


# --- who may do what ----------------------------------------------------------------------

def admin_pages(variant: Variant) -> dict[str, str]:
    return {
        "admin index": reverse("admin:index"),
        "variant list": reverse("admin:imagegen_variant_changelist"),
        "variant page": reverse("admin:imagegen_variant_change", args=[variant.pk]),
        "variant status JSON": reverse("admin:imagegen_variant_status") + f"?ids={variant.pk}",
        "style list": reverse("admin:imagegen_style_changelist"),
        "product image list": reverse(CHANGELIST),
    }


def test_anonymous_visitors_are_sent_to_the_login_page(client, catalogue):
    variant = Variant.objects.first()
    login = reverse("admin:login")
    for name, url in admin_pages(variant).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(f"{login}?next="), (name, response["Location"])
        assert response.content == b"", name  # nothing of the page (or the status JSON) leaks


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_posts_to_actions_queue_nothing(client, catalogue, action):
    styles, images = catalogue
    before = snapshot()
    response = client.post(reverse(CHANGELIST), action_data(action, images, styles))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert snapshot() == before and queued() == 0


def test_staff_without_imagegen_permissions_cannot_see_variants(client, catalogue):
    _, images = catalogue
    variant = Variant.objects.first()
    client.force_login(make_staff("clerk"))
    pages = admin_pages(variant)
    for name in ("variant list", "variant page", "style list"):
        assert client.get(pages[name]).status_code == 403, name
    status = client.get(pages["variant status JSON"])
    assert status.status_code == 403
    assert status.json() == {"error": "forbidden"}
    # Their own part of the admin works, without imagegen's actions.
    page = client.get(pages["product image list"])
    assert page.status_code == 200
    for action in ACTIONS:
        assert action.encode() not in page.content


@pytest.mark.parametrize("role, sees", [("clerk", False), ("requester", True)])
def test_the_variants_panel_on_a_product_page_needs_the_view_permission(client, catalogue, role, sees):
    _, images = catalogue
    client.force_login(make_staff(role))
    for url in (reverse("admin:shop_productimage_change", args=[images[0].pk]), reverse("admin:shop_product_change", args=[images[0].product.pk])):
        page = client.get(url)
        assert page.status_code == 200
        assert (b'class="imagegen-card"' in page.content) == sees, url


def test_staff_with_view_permission_see_variants_and_their_status(client, catalogue):
    variant = Variant.objects.first()
    client.force_login(make_staff("requester"))
    pages = admin_pages(variant)
    assert client.get(pages["variant list"]).status_code == 200
    assert client.get(pages["variant page"]).status_code == 200
    status = client.get(pages["variant status JSON"])
    assert status.status_code == 200
    assert status.json()["variants"][str(variant.pk)]["status"] == "ready"


ALLOWED = {
    "clerk": set(),
    "requester": {"imagegen_regenerate", "imagegen_restyle"},
    "editor": {"imagegen_regenerate", "imagegen_restyle", "imagegen_delete_variants"},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("action", ACTIONS)
def test_action_matrix(client, catalogue, role, action):
    styles, images = catalogue
    client.force_login(make_staff(role))
    allowed = action in ALLOWED[role]
    page = client.get(reverse(CHANGELIST))
    assert (action.encode() in page.content) == allowed  # offered only to those who may use it

    before = snapshot()
    response = client.post(reverse(CHANGELIST), action_data(action, images, styles), follow=True)
    assert response.status_code == 200
    if allowed:
        assert_action_took_effect(action, images, before)
    else:
        # Posting an action that is not offered is ignored (or refused as unknown): nothing changes.
        assert snapshot() == before and queued() == 0
