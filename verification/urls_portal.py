"""Routes of the employer portal, mounted at /employer/."""

from django.urls import path

from verification import views_portal as v
from verification import views_portal_admin as a

app_name = "portal"

urlpatterns = [
    path("", v.home, name="home"),
    path("<str:employer_id>/cases/", v.case_list, name="case-list"),
    path("<str:employer_id>/cases/new/", v.case_new, name="case-new"),
    path("<str:employer_id>/cases/<str:pk>/", v.case_detail, name="case-detail"),
    path("<str:employer_id>/cases/<str:pk>/notice/", v.case_notice, name="case-notice"),
    path("<str:employer_id>/cases/<str:pk>/decision/", v.case_decision, name="case-decision"),
    path("<str:employer_id>/cases/<str:pk>/refer/", v.case_refer, name="case-refer"),
    path("<str:employer_id>/cases/<str:pk>/close/", v.case_close, name="case-close"),
    path("<str:employer_id>/cases/<str:pk>/resubmit/", v.case_resubmit_view, name="case-resubmit"),
    path("<str:employer_id>/imports/", a.import_list, name="import-list"),
    path("<str:employer_id>/imports/<str:pk>/", a.import_detail, name="import-detail"),
    path("<str:employer_id>/imports/<str:pk>/choice/", a.import_choice, name="import-choice"),
    path("<str:employer_id>/admin/", a.admin_page, name="admin"),
    path("<str:employer_id>/admin/invite/", a.person_invite, name="person-invite"),
    path("<str:employer_id>/admin/grant/", a.person_grant, name="person-grant"),
    path("<str:employer_id>/admin/access/<str:pk>/revoke/", a.person_revoke, name="person-revoke"),
    path("<str:employer_id>/admin/keys/", a.key_issue, name="key-issue"),
    path("<str:employer_id>/admin/keys/<str:pk>/rotate/", a.key_rotate, name="key-rotate"),
    path("<str:employer_id>/admin/keys/<str:pk>/revoke/", a.key_revoke, name="key-revoke"),
]
