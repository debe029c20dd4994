from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from algotrader.health import health
from algotrader.webapp import webapp

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("brokers.urls")),
    path("", include("strategies.urls")),
    path("", include("execution.urls")),
]

urlpatterns = [
    path("health", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    re_path(r"^app/(?P<path>.*)$", webapp, name="webapp"),
]

handler404 = "algotrader.api_errors.json_not_found"
handler500 = "algotrader.api_errors.json_server_error"
