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
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
