"""The daily digest as beat sends it: the scheduled task, by name, run by a real Celery worker,
delivering to a real SMTP server."""

from __future__ import annotations

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings

from config.celery import app
from privacy import services
from privacy.models import MailDigestItem
from privacy.tasks import mail_digests
from tests.workers import celery_worker, stop_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_beat_sends_the_daily_digest_through_a_worker(smtp, alice, bob):
    entry = django_settings.CELERY_BEAT_SCHEDULE["privacy-mail-digest"]
    assert entry["task"] == mail_digests.name
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert (schedule.hour, schedule.minute) == ({django_settings.MAIL_DIGEST_HOUR}, {0})
    assert str(schedule.nowfun().tzinfo) == django_settings.TIME_ZONE  # the hour is local
    for user in (alice, bob):
        services.mail_preferences_set(actor=user, choices={"reminder": "daily"})
    for n in range(3):
        services.notify(user=alice, title=f"Case FC-{n} is due soon", kind="reminder")
    services.notify(user=bob, title="Case FC-9 is overdue", kind="reminder")

    worker = celery_worker(
        "interactive",
        "digest-test",
        env_extra={
            "CROSSCHECK_TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "DJANGO_EMAIL_HOST": "127.0.0.1",
            "DJANGO_EMAIL_PORT": str(smtp.port),
        },
    )
    try:
        app.send_task(entry["task"])
        wait_until(
            lambda: len(smtp.received) == 2 and not MailDigestItem.objects.filter(sent_at=None),
            120,
            "the worker to send both digests",
        )
    finally:
        stop_worker(worker)
    [to_alice] = smtp.to(alice.email)
    assert str(to_alice.message["Subject"]).strip() == "[Crosscheck] Daily digest: 3 messages"
    assert all(f"Case FC-{n} is due soon" in to_alice.text for n in range(3))
    [to_bob] = smtp.to(bob.email)
    assert "Case FC-9 is overdue" in to_bob.text
