"""Screens of the verification app: employer onboarding (admins) and case resolution (verifiers)."""

from django.urls import path

from verification import views, views_portal_admin
from verification.webhooks import views as hooks

app_name = "verification"

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/resolve/", views.case_resolve, name="case-resolve"),
    path("cases/<int:pk>/contact/", views.case_contact, name="case-contact"),
    path("cases/<int:pk>/reveal/", views.case_reveal, name="case-reveal"),
    path("cases/<int:pk>/notices/<slug:kind>.pdf", views.case_notice, name="case-notice"),
    path("employers/", views.employer_list, name="employer-list"),
    path("employers/new/", views.employer_new, name="employer-new"),
    path("employers/<int:pk>/", views.employer_detail, name="employer-detail"),
    path("employers/<int:pk>/sites/", views.site_new, name="site-new"),
    path("employers/<int:pk>/keys/", views.apikey_new, name="apikey-new"),
    path(
        "employers/<int:pk>/invite-admin/",
        views_portal_admin.employer_admin_invite,
        name="employer-admin-invite",
    ),
    path("keys/<int:pk>/rotate/", views.apikey_rotate, name="apikey-rotate"),
    path("keys/<int:pk>/revoke/", views.apikey_revoke, name="apikey-revoke"),
    path("webhooks/", hooks.subscriptions, name="webhook-subscriptions"),
    path("webhooks/new/", hooks.subscription_new, name="webhook-subscription-new"),
    path("webhooks/<int:pk>/rotate/", hooks.subscription_rotate, name="webhook-rotate"),
    path("webhooks/<int:pk>/delete/", hooks.subscription_delete, name="webhook-delete"),
    path("webhooks/allowances/", hooks.allowance_add, name="webhook-allowance-add"),
    path(
        "webhooks/allowances/<int:pk>/remove/",
        hooks.allowance_remove,
        name="webhook-allowance-remove",
    ),
    path("webhooks/deliveries/", hooks.deliveries, name="webhook-deliveries"),
    path("webhooks/deliveries/<int:pk>/", hooks.delivery_detail, name="webhook-delivery"),
    path("webhooks/deliveries/<int:pk>/replay/", hooks.delivery_replay, name="webhook-replay"),
]
