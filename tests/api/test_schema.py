"""The OpenAPI schema: valid OpenAPI 3, every endpoint and parameter described, docs pages
served with local assets (drf-spectacular-sidecar), and the API's optional dependency."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from openapi_spec_validator import validate

from ..conftest import ROOT

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/imagegen/styles/": {"get"},
    "/api/imagegen/styles/{slug}/": {"get"},
    "/api/imagegen/variants/": {"get"},
    "/api/imagegen/variants/{id}/": {"get"},
    "/api/imagegen/jobs/": {"get", "post"},
    "/api/imagegen/jobs/{id}/": {"get"},
    "/api/shop/products/": {"get"},
    "/api/shop/products/{id}/": {"get"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_every_endpoint_is_in_the_schema_with_a_summary_and_responses(schema):
    paths = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    assert paths == ENDPOINTS
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") and operation.get("description"), (path, method)
            assert any(code.startswith("2") for code in operation["responses"]), (path, method)


def test_filters_headers_and_errors_are_described(schema):
    listing = schema["paths"]["/api/imagegen/variants/"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"source", "product", "style", "status", "format", "spec", "published", "updated_since", "cursor", "page_size"} <= set(params)
    for name in ("source", "product", "style", "status", "format"):
        assert params[name].get("description"), name
    assert params["status"]["schema"]["enum"] == ["failed", "pending", "ready", "running", "stale"]
    detail = schema["paths"]["/api/imagegen/variants/{id}/"]["get"]
    assert {"ETag", "Last-Modified", "Retry-After"} <= set(detail["responses"]["200"]["headers"])
    assert "304" in detail["responses"] and "404" in detail["responses"]
    create = schema["paths"]["/api/imagegen/jobs/"]["post"]
    assert {"202", "400", "401", "403", "429"} <= set(create["responses"])
    assert "Location" in create["responses"]["202"]["headers"]
    body = schema["components"]["schemas"]["RequestCreateRequest"]
    assert set(body["required"]) == {"sources", "styles"}
    options = schema["components"]["schemas"]["RequestOptionsRequest"]["properties"]
    assert set(options) == {"strength", "preserve_colors", "preserve_product", "preserve_amount", "aspect"}
    variant = schema["components"]["schemas"]["Variant"]["properties"]
    assert {"url", "width", "height", "format", "bytes", "figures", "error", "model_version", "source_url"} <= set(variant)
    assert variant["url"]["nullable"] and variant["source_url"]["nullable"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_local_assets(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/schema/" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_reference_no_other_host(client, path):
    """Issue 14: Redoc loaded Google fonts (and its bundle a logo from cdn.redoc.ly), so it broke
    offline. Every URL in the page is local, and Redoc's bundle may fetch nothing else (CSP)."""
    html = client.get(path).content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html) + re.findall(r"url\(([^)]+)\)", html)
    assert urls
    external = [u for u in urls if re.match(r"(https?:)?//", u.strip("'\" "))]
    assert external == [], external
    assert "googleapis" not in html and "gstatic" not in html
    if path == "/api/redoc/":
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
        assert csp, "Redoc's bundle draws cdn.redoc.ly's logo; a CSP keeps it from leaving the host"
        policy = dict(part.strip().split(" ", 1) for part in csp.group(1).split(";") if part.strip())
        assert policy["img-src"].split()[0] == "'self'" and "https:" not in policy["img-src"]
        assert policy["font-src"].split()[0] == "'self'" and "https:" not in policy["font-src"]


def test_the_sidecar_assets_are_installed(client):
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")


def test_without_drf_importing_the_api_says_what_to_install():
    # A fresh interpreter where rest_framework cannot be imported.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["rest_framework"] = None
        try:
            import imagegen.api
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "pip install django-imagegen[api]" in out.stdout, out.stderr
    assert "rest_framework" in out.stdout
