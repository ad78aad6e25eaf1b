"""The signed-in user's home: per role, what needs them now (cases.home computes it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.home import home_sections
from cases.views.common import _today
from privacy.http import AuthedRequest

# "New since my last visit": the moment of the previous session's last home visit, kept in the
# cache (losing it only makes "new" count from a day back) and fixed for the whole session.
_SEEN_KEY = "cases:home-seen:{}"
_SESSION_KEY = "cases_home_since"


def _last_visit(request: AuthedRequest) -> datetime:
    now = timezone.now()
    since = request.session.get(_SESSION_KEY)
    if since is None:
        previous = cache.get(_SEEN_KEY.format(request.user.pk))
        since = previous or (now - timedelta(days=1)).isoformat()
        request.session[_SESSION_KEY] = since
    cache.set(_SEEN_KEY.format(request.user.pk), now.isoformat(), timeout=60 * 60 * 24 * 90)
    return datetime.fromisoformat(since)


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """Counts that link to the lists behind them, one block per role; "next case" for analysts."""
    since = _last_visit(request)
    sections = home_sections(user=request.user, today=_today(), since=since)
    return render(
        request,
        "home.html",
        {"roles": request.user.roles, "sections": sections, "since": since},
    )
