"""Case e-mail (assignments, contests, reminders) follows each user's choice per kind; the mail
goes to a real SMTP server."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from cases import services
from cases.models import Notification
from privacy.services import mail_digests_send, mail_preferences_set

pytestmark = pytest.mark.django_db


def test_assignments_go_at_once_reminders_in_the_digest_and_nothing_for_never(
    smtp, make_case, alice, sam, django_capture_on_commit_callbacks
):
    mail_preferences_set(actor=sam, choices={"reminder": "daily", "handoff": "never"})
    case = make_case()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_assign(actor=alice, case=case, assignee=sam)
    [assigned] = smtp.to(sam.email)
    assert assigned.message["Subject"] == f"[Crosscheck] Case {case.number} was assigned to you."
    assert f"/cases/{case.pk}/" in assigned.text
    assert str(assigned.message["List-Unsubscribe"]).strip().startswith("<http")
    case.due_date = case.created_at.date().replace(year=2000)
    case.save(update_fields=["due_date"])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send()["overdue"] == 1
    assert len(smtp.to(sam.email)) == 1  # the reminder waits for the digest
    assert Notification.objects.filter(user=sam, kind="overdue").exists()  # in-app at once
    assert mail_digests_send()["lines"] == 1
    digest = smtp.to(sam.email)[-1]
    assert "Reminders: my cases due soon or overdue (1)" in digest.text
    assert f"Case {case.number} is overdue" in digest.text
    assert set(
        AuditEvent.objects.filter(action__startswith="mail.").values_list("action", flat=True)
    ) == {
        "mail.preferences_changed",
        "mail.sent",
        "mail.queued",
        "mail.digest_sent",
    }
