"""The demo shop's API under /api/: imagegen's endpoints, the shop's products, the OpenAPI
schema and its docs (Swagger UI and Redoc, assets from drf-spectacular-sidecar)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from shop.catalogue.api import ProductViewSet

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    path("imagegen/", include("imagegen.api.urls")),
    path("shop/", include((router.urls, "shop-api"))),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # imagegen's Redoc page: no Google Fonts, and a CSP that keeps Redoc's logo fetch local
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="imagegen/api/redoc.html"), name="api-redoc"),
]


def not_found(request, exception):
    """404 for unknown URLs: JSON under /api/ (what API clients parse), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
