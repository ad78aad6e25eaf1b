import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = [
    "/accounts/login/",
    "/healthz",
    "/api/docs/",
    "/api/schema/",
    "/no-such-page/",
    "/accounts/password/reset/",
]


def _assert_baseline_headers(response):
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "X-Request-ID" in response


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_public_response_carries_the_security_headers(client, path):
    _assert_baseline_headers(client.get(path, secure=True))


def test_signed_in_pages_carry_them_too(login, alice):
    client = login(alice)
    _assert_baseline_headers(client.get("/", secure=True))


def test_no_page_has_inline_script(client, login, alice):
    pages = [client.get("/accounts/login/"), client.get("/api/docs/"), login(alice).get("/")]
    for page in pages:
        html = page.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script in {page.request['PATH_INFO']}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_swagger_ui_loads_its_script_from_this_server(client):
    html = client.get("/api/docs/").content.decode()
    sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert sources, "Swagger UI needs its scripts"
    assert all(src.startswith("/") for src in sources)
    script = client.get(
        next(s for s in sources if "script" in s or "api/docs" in s)
        if any("api/docs" in s for s in sources)
        else sources[0]
    )
    assert script.status_code == 200


def test_session_cookies_are_http_only_and_secure_in_production():
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.CSRF_COOKIE_HTTPONLY is True
    from config.settings import base

    assert base.SESSION_COOKIE_SECURE is True  # the default, overridden only for local and test


def test_the_login_cookie_is_http_only(client, alice):
    from tests.factories import TEST_PASSWORD

    response = client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
