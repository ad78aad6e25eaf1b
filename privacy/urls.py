from django.contrib.auth import views as auth_views
from django.urls import path

from privacy import views
from privacy.views import mail, sso

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("sso/callback/", sso.sso_callback, name="sso-callback"),
    path("sso/<slug:agency>/", sso.sso_start, name="sso-start"),
    path("mail/unsubscribe/<str:token>/", mail.mail_unsubscribe, name="mail-unsubscribe"),
    path("2fa/enrol/", views.otp_enrol, name="otp-enrol"),
    path("2fa/verify/", views.otp_verify, name="otp-verify"),
    path("2fa/recovery-codes/", views.recovery_codes_regenerate, name="otp-recovery-codes"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
