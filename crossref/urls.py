"""Routes of the engine's screens, under /crossref/ (namespace "crossref")."""

from django.urls import path

from crossref import views

app_name = "crossref"

urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run-progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("quality/", views.quality, name="quality"),
]
