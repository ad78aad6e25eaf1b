"""What the test provider puts in its tokens, per user, from the JSON profile the test wrote.

A profile may add claims (`claims`: org, ou, roles, groups, acr, amr ...), move the expiry
(`exp_offset` seconds from now, negative for a token already expired) or name another audience
(`aud`): each is what a misbehaving or attacked provider could send, signed with its real key.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def _profile(username: str) -> dict[str, Any]:
    with open(os.environ["SSO_IDP_CONFIG"]) as handle:
        users = {u["username"]: u for u in json.load(handle)["users"]}
    return dict(users.get(username, {}))


def userinfo(claims: dict[str, Any], user: Any) -> dict[str, Any]:
    """The standard claims of the userinfo endpoint."""
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = True
    return claims


def shape_id_token(id_token: dict[str, Any], user: Any, **kwargs: Any) -> dict[str, Any]:
    """Add the profile's claims to the ID token, and bend its expiry or audience if asked."""
    profile = _profile(user.username)
    id_token.update(profile.get("claims", {}))
    if "exp_offset" in profile:
        now = int(time.time())
        id_token["exp"] = now + int(profile["exp_offset"])
        id_token["iat"] = id_token["exp"] - 600
    if "aud" in profile:
        id_token["aud"] = profile["aud"]
    return id_token
