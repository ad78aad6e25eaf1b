"""The privacy API, mounted at /api/privacy/ (namespace "privacy-api")."""

from django.urls import path

from privacy import api

app_name = "privacy-api"

urlpatterns = [
    path("agreements/", api.AgreementListApi.as_view(), name="agreement-list"),
    path("agreements/<int:pk>/", api.AgreementDetailApi.as_view(), name="agreement-detail"),
    path("disclosures/", api.DisclosureReportApi.as_view(), name="disclosure-report"),
    path("me/access/", api.MyAccessApi.as_view(), name="my-access"),
    path("break-glass/", api.BreakGlassApi.as_view(), name="break-glass"),
]
