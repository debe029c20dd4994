from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from algotrader.health import health

api_v1 = [
    path("", include("accounts.urls")),
]

urlpatterns = [
    path("health", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "algotrader.api_errors.json_not_found"
handler500 = "algotrader.api_errors.json_server_error"
