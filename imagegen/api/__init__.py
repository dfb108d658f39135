"""imagegen's REST API (Django REST framework): styles, variants, requests for new work.

Optional: it needs the ``api`` extra. Mount it with::

    path("api/imagegen/", include("imagegen.api.urls"))

and reuse ``imagegen.api.fields.VariantsField`` in your own serializers. See docs/api.md.
"""
from __future__ import annotations

try:
    import django_filters  # noqa: F401
    import drf_spectacular  # noqa: F401
    import rest_framework  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"imagegen.api needs Django REST framework, drf-spectacular and django-filter ({exc.name} is missing): "
        "pip install django-imagegen[api]"
    ) from exc
