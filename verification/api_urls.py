"""Routes of the employer API, mounted at /api/v1/."""

from django.urls import path, re_path

from verification import api, api_batch, api_key_info, api_notices
from verification.webhooks import api as hooks

urlpatterns = [
    path("key/", api_key_info.KeyInfoApi.as_view(), name="api-key-info"),
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
    path(
        "cases/<str:pk>/notices/<slug:kind>.pdf",
        api_notices.CaseNoticePdfApi.as_view(),
        name="api-case-notice-pdf",
    ),
    path("cases/<str:pk>/decision/", api.CaseDecisionApi.as_view(), name="api-case-decision"),
    path("cases/<str:pk>/refer/", api.CaseReferApi.as_view(), name="api-case-refer"),
    path("cases/<str:pk>/close/", api.CaseCloseApi.as_view(), name="api-case-close"),
    path(
        "webhooks/subscriptions/",
        hooks.SubscriptionCollectionApi.as_view(),
        name="api-webhook-subscriptions",
    ),
    path(
        "webhooks/subscriptions/<str:pk>/",
        hooks.SubscriptionDetailApi.as_view(),
        name="api-webhook-subscription",
    ),
    path(
        "webhooks/subscriptions/<str:pk>/rotate-secret/",
        hooks.SubscriptionRotateApi.as_view(),
        name="api-webhook-rotate",
    ),
    path(
        "webhooks/subscriptions/<str:pk>/ping/",
        hooks.SubscriptionPingApi.as_view(),
        name="api-webhook-ping",
    ),
    path("webhooks/deliveries/", hooks.DeliveryListApi.as_view(), name="api-webhook-deliveries"),
    path(
        "webhooks/deliveries/<str:pk>/",
        hooks.DeliveryDetailApi.as_view(),
        name="api-webhook-delivery",
    ),
    re_path(r"^.*$", api.api_not_found),
]
