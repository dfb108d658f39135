"""Fixtures for the REST API tests: a small catalogue (one public and one private product),
the styles the shop registers, and users for each row of the permission matrix."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from imagegen.models import Style, Variant
from shop.catalogue.models import ProductImage

from ..integration.helpers import make_product, make_styles, upload, variants_of


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()  # DRF throttles count in the default cache
    yield
    cache.clear()


def mark_ready(variant: Variant, *, published: bool = True, name: str = "imagegen/variants/ab/cd/abcd.webp") -> Variant:
    Variant.objects.filter(pk=variant.pk).update(
        status=Variant.Status.READY, file=name, width=160, height=120, file_size=2048, format="WEBP",
        is_published=published, model_version="sketch@engine-1", metrics={"content_ssim": 0.91},
        started_at=timezone.now(), finished_at=timezone.now(), updated_at=timezone.now(),
    )
    variant.refresh_from_db()
    return variant


@dataclass
class Catalogue:
    styles: dict[str, Style]
    public_image: ProductImage
    private_image: ProductImage

    @property
    def public_ref(self) -> str:
        return f"shop.productimage:{self.public_image.pk}"

    @property
    def private_ref(self) -> str:
        return f"shop.productimage:{self.private_image.pk}"

    def variant(self, image: ProductImage, spec: str = "sketch") -> Variant:
        return variants_of(image).get(spec_name=spec)


@pytest.fixture
def catalogue(db) -> Catalogue:
    """Uploads create the registered variants (pending: no worker here); the sketch variant of
    each image is then made ready and published, the vintage one ready but unpublished."""
    styles = make_styles()
    public = upload(make_product("Mug"))
    hidden_product = make_product("Prototype")
    hidden_product.is_public = False
    hidden_product.save()
    private = upload(hidden_product)
    for image in (public, private):
        mark_ready(variants_of(image).get(spec_name="sketch"))
        mark_ready(variants_of(image).get(spec_name="vintage"), published=False)
    return Catalogue(styles, public, private)


def make_user(username: str, *, perm: bool = False, staff: bool = False, superuser: bool = False) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=staff or superuser, is_superuser=superuser)
    if perm:
        user.user_permissions.add(Permission.objects.get(codename="request_variant", content_type__app_label="imagegen"))
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def requester(db) -> User:
    return make_user("requester", perm=True)


@pytest.fixture
def requester_client(requester) -> APIClient:
    return client_for(requester)
