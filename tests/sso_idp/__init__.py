"""A real OpenID Connect provider for the single sign-on tests: django-oidc-provider in a second
Django process of its own (these tiny settings, an SQLite file), serving discovery, authorize,
token, userinfo and JWKS (RS256) over HTTP. `serve.py` starts it; `claims.py` shapes its tokens
per test user (a wrong audience, an expired token, MFA, roles claims)."""
