"""Mount with ``path("api/imagegen/", include("imagegen.api.urls"))``."""
from rest_framework.routers import SimpleRouter

from .views import RequestViewSet, StyleViewSet, VariantViewSet

app_name = "imagegen-api"

router = SimpleRouter()
router.register("styles", StyleViewSet, basename="style")
router.register("variants", VariantViewSet, basename="variant")
router.register("jobs", RequestViewSet, basename="request")

urlpatterns = router.urls
