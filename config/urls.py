from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cases.views import home
from core.views import healthz

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("privacy.urls")),
    path("audit/", include("audit.urls")),
    path("privacy/", include("privacy.urls_admin")),
    path("cases/", include("cases.urls")),
    path("verification/", include("verification.urls")),
    path("employer/", include("verification.urls_portal")),
    path("crossref/", include("crossref.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("verification.api_urls")),
    path("api/privacy/", include("privacy.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
