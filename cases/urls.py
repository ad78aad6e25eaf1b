from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("export.csv", views.export_csv, name="export"),
    path("views/", views.saved_view_save, name="view-save"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="view-delete"),
    path("next/", views.next_case, name="next"),
    path("investigations/", views.investigations, name="investigations"),
    path("search/", views.person_search, name="search"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("notifications/", views.notifications, name="notifications"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/do/<slug:action>/", views.case_action, name="action"),
    path("<int:pk>/evidence/", views.evidence_upload, name="evidence-upload"),
    path("<int:pk>/notice/", views.notice_print, name="notice"),
    path("evidence/<int:pk>/download/", views.evidence_download, name="evidence-download"),
    path("tasks/<int:pk>/done/", views.task_done, name="task-done"),
]
