from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.browser, name="browser"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("users/<int:user_id>/", views.timeline, name="timeline"),
    path("export/", views.export_view, name="export"),
    path("review/", views.review_queue, name="review"),
    path("status/", views.status, name="status"),
    path("status/verify/", views.verify_now, name="verify"),
    path("checkpoint-key.pem", views.checkpoint_public_key, name="checkpoint-key"),
]
