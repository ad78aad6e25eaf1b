"""Routes of the employer API, mounted at /api/v1/."""

from django.urls import path, re_path

from verification import api, api_batch

urlpatterns = [
    path("cases/", api.CaseCollectionApi.as_view(), name="api-cases"),
    path("cases/batch", api_batch.CaseBatchApi.as_view(), name="api-cases-batch"),
    path("imports/<str:pk>/", api_batch.ImportDetailApi.as_view(), name="api-import-detail"),
    path(
        "cases/<str:pk>/resubmit/",
        api_batch.CaseResubmitApi.as_view(),
        name="api-case-resubmit",
    ),
    path("cases/<str:pk>/", api.CaseDetailApi.as_view(), name="api-case-detail"),
    path("cases/<str:pk>/submit/", api.CaseSubmitDraftApi.as_view(), name="api-case-submit-draft"),
    path("cases/<str:pk>/notice/", api.CaseNoticeApi.as_view(), name="api-case-notice"),
    path("cases/<str:pk>/decision/", api.CaseDecisionApi.as_view(), name="api-case-decision"),
    path("cases/<str:pk>/refer/", api.CaseReferApi.as_view(), name="api-case-refer"),
    path("cases/<str:pk>/close/", api.CaseCloseApi.as_view(), name="api-case-close"),
    re_path(r"^.*$", api.api_not_found),
]
