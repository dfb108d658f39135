from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from shop.catalogue.views import favicon

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),  # every page (admin and API docs too) asks for it
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
    path("api/", include("shop.api_urls")),  # REST API, /api/schema/, /api/docs/
    path("", include("imagegen.health_urls")),  # /healthz, /healthz/workers
    path("", include("shop.catalogue.urls")),
]
handler404 = "shop.api_urls.not_found"  # JSON 404s under /api/
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
