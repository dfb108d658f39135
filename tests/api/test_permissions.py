"""The permission matrix: anonymous, a user without the permission, a user with it, staff
without it, and a superuser; reading and creating, on a public and a private product."""
from __future__ import annotations

import pytest

from imagegen.variant_requests import VariantRequest

from .conftest import client_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/imagegen"
ROLES = ["anonymous", "user", "requester", "staff", "superuser"]


@pytest.fixture
def clients(db) -> dict:
    return {
        "anonymous": client_for(None),
        "user": client_for(make_user("plain")),
        "requester": client_for(make_user("requester", perm=True)),
        "staff": client_for(make_user("staff", staff=True)),
        "superuser": client_for(make_user("root", superuser=True)),
    }


# Which variants each role may read: (image, spec) -> roles that get 200 (the others get 404).
READ = {
    ("public", "sketch"): set(ROLES),  # ready and published
    ("public", "vintage"): {"user", "requester", "staff", "superuser"},  # ready, not published
    ("public", "sunset"): {"user", "requester", "staff", "superuser"},  # pending
    ("private", "sketch"): {"staff", "superuser"},  # the product is not public
    ("private", "vintage"): {"staff", "superuser"},
}


@pytest.mark.parametrize("role", ROLES)
def test_reading_variants(clients, catalogue, role):
    client = clients[role]
    for (which, spec), allowed in READ.items():
        image = catalogue.public_image if which == "public" else catalogue.private_image
        variant = catalogue.variant(image, spec)
        status = client.get(f"{API}/variants/{variant.pk}/").status_code
        assert status == (200 if role in allowed else 404), (which, spec, role, status)
        listed = {r["id"] for r in client.get(f"{API}/variants/?source=shop.productimage:{image.pk}").json()["results"]}
        assert (variant.pk in listed) == (role in allowed), (which, spec, role)


# Creating work: role -> status on the public source, on the private source.
CREATE = {
    "anonymous": (401, 401),
    "user": (403, 403),
    "requester": (202, 400),  # the private source is "unknown" to them
    "staff": (403, 403),  # staff see everything but still need the permission
    "superuser": (202, 202),
}


@pytest.mark.parametrize("role", ROLES)
def test_creating_work(clients, catalogue, role):
    client = clients[role]
    public = client.post(f"{API}/jobs/", {"sources": [catalogue.public_ref], "styles": ["vintage"]}, format="json")
    private = client.post(f"{API}/jobs/", {"sources": [catalogue.private_ref], "styles": ["vintage"]}, format="json")
    assert (public.status_code, private.status_code) == CREATE[role], (public.json(), private.json())
    if private.status_code == 400:
        assert private.json()["sources"] == [f"Unknown source {catalogue.private_ref!r}: no such object, or you cannot see it."]
    if public.status_code == 403:
        assert "imagegen.request_variant" in public.json()["detail"]
    if public.status_code == 401:
        assert public["WWW-Authenticate"].startswith("Token")
    assert VariantRequest.objects.count() == sum(s == 202 for s in CREATE[role])


@pytest.mark.parametrize("role", ROLES)
def test_reading_requests_needs_an_account(clients, catalogue, role):
    expected = 401 if role == "anonymous" else 200
    assert clients[role].get(f"{API}/jobs/").status_code == expected


def test_staff_read_everyones_requests(clients, catalogue):
    made = clients["requester"].post(f"{API}/jobs/", {"sources": [catalogue.public_ref], "styles": ["vintage"]}, format="json").json()
    assert clients["staff"].get(f"{API}/jobs/{made['id']}/").status_code == 200
    assert clients["user"].get(f"{API}/jobs/{made['id']}/").status_code == 404


def test_token_and_session_auth_both_work(catalogue):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = make_user("tokened", perm=True)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(f"{API}/jobs/", {"sources": [catalogue.public_ref], "styles": ["vintage"]}, format="json").status_code == 202
    session = APIClient(enforce_csrf_checks=True)
    assert session.login(username="tokened", password="pw")
    # Session auth enforces CSRF on unsafe methods; reading works as is.
    assert session.get(f"{API}/jobs/").status_code == 200
    assert session.post(f"{API}/jobs/", {"sources": [catalogue.public_ref], "styles": ["vintage"]}, format="json").status_code == 403
