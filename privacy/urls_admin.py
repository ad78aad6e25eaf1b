"""The privacy screens under /privacy/ (namespace "privacy")."""

from django.urls import path

from privacy.views import (
    access,
    agreements,
    directory,
    mail,
    recertification,
    requests,
    retention,
    sso,
)

app_name = "privacy"

urlpatterns = [
    # directory
    path("agencies/", directory.agency_list, name="agency-list"),
    path("agencies/new/", directory.agency_edit, name="agency-create"),
    path("agencies/<int:pk>/edit/", directory.agency_edit, name="agency-edit"),
    path("units/new/", directory.unit_edit, name="unit-create"),
    path("units/<int:pk>/edit/", directory.unit_edit, name="unit-edit"),
    path("agencies/<int:pk>/sso/", sso.sso_provider_edit, name="sso-provider"),
    path("agencies/<int:pk>/sso/mappings/", sso.sso_mapping_add, name="sso-mapping-add"),
    path("sso/mappings/<int:pk>/delete/", sso.sso_mapping_delete, name="sso-mapping-delete"),
    path("users/", directory.user_list, name="user-list"),
    path("users/invite/", directory.user_invite, name="user-invite"),
    path("users/<int:pk>/", directory.user_detail, name="user-detail"),
    path("users/<int:pk>/edit/", directory.user_edit, name="user-edit"),
    path("users/<int:pk>/deactivate/", directory.user_deactivate, name="user-deactivate"),
    path("users/<int:pk>/reactivate/", directory.user_reactivate, name="user-reactivate"),
    path("users/<int:pk>/grants/", directory.grant_create, name="grant-create"),
    path("grants/<int:pk>/revoke/", directory.grant_revoke, name="grant-revoke"),
    # agreements
    path("agreements/", agreements.agreement_list, name="agreement-list"),
    path("agreements/new/", agreements.agreement_edit, name="agreement-create"),
    path("agreements/<int:pk>/", agreements.agreement_detail, name="agreement-detail"),
    path("agreements/<int:pk>/edit/", agreements.agreement_edit, name="agreement-edit"),
    path("agreements/<int:pk>/document/", agreements.agreement_document, name="agreement-document"),
    path(
        "agreements/<int:pk>/document/download/",
        agreements.agreement_document_download,
        name="agreement-document-download",
    ),
    path(
        "agreements/<int:pk>/<slug:step>/",
        agreements.agreement_transition,
        name="agreement-transition",
    ),
    # recertification
    path("recertification/", recertification.campaign_list, name="campaign-list"),
    path("recertification/<int:pk>/", recertification.campaign_detail, name="campaign-detail"),
    path(
        "recertification/items/<int:pk>/decide/",
        recertification.recertification_decide,
        name="recertification-decide",
    ),
    # Privacy Act requests and the accounting of disclosures
    path("requests/", requests.subject_request_list, name="subject-request-list"),
    path("requests/new/", requests.subject_request_create, name="subject-request-create"),
    path("requests/<int:pk>/", requests.subject_request_detail, name="subject-request-detail"),
    path(
        "requests/<int:pk>/respond/",
        requests.subject_request_respond,
        name="subject-request-respond",
    ),
    path(
        "requests/<int:pk>/<slug:step>/", requests.subject_request_step, name="subject-request-step"
    ),
    path("disclosures/", requests.disclosure_report, name="disclosure-report"),
    # retention
    path("retention/", retention.retention_overview, name="retention"),
    path("retention/holds/", retention.hold_place, name="hold-place"),
    path("retention/holds/<int:pk>/release/", retention.hold_release, name="hold-release"),
    path("retention/purges/", retention.purge_preview, name="purge-preview"),
    path("retention/purges/<int:pk>/", retention.purge_detail, name="purge-detail"),
    path("retention/purges/<int:pk>/approve/", retention.purge_approve, name="purge-approve"),
    # break-glass and notifications
    path("break-glass/", access.break_glass, name="break-glass"),
    path("break-glass/review/", access.break_glass_list, name="break-glass-list"),
    path("break-glass/<int:pk>/review/", access.break_glass_review, name="break-glass-review"),
    path("me/", access.my_access, name="my-access"),
    path("me/mail/", mail.mail_preferences, name="mail-preferences"),
    path("me/access-request/", sso.access_request_create, name="access-request"),
    path("access-requests/", sso.access_request_list, name="access-request-list"),
    path(
        "access-requests/<int:pk>/decide/",
        sso.access_request_decide,
        name="access-request-decide",
    ),
    path("notifications/", access.notification_list, name="notification-list"),
    path("notifications/<int:pk>/read/", access.notification_read, name="notification-read"),
]
