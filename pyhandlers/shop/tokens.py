"""Bearer tokens: JSON Web Tokens signed with HMAC-SHA256 (HS256), with an expiry.

Only HS256 is accepted, whatever the token's header says (no "alg": "none" tricks), and the
signature is compared in constant time.
"""

import base64
import hashlib
import hmac
import json
import time

ISSUER = "store"
_HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenError(Exception):
    """The token is not valid; the message says why, without echoing the token."""


class TokenExpired(TokenError):
    pass


def _b64e(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text):
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def issue(secret, user_id, email, ttl, now=None):
    now = int(time.time() if now is None else now)
    claims = {"iss": ISSUER, "sub": user_id, "email": email, "iat": now, "exp": now + ttl}
    signing_input = _b64e(_json(_HEADER)) + "." + _b64e(_json(claims))
    sig = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64e(sig), claims


def verify(secret, token, now=None):
    """The token's claims, or TokenError."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 4096:
        raise TokenError("malformed token")
    try:
        header = json.loads(_b64d(parts[0]))
        claims = json.loads(_b64d(parts[1]))
        sig = _b64d(parts[2])
    except (ValueError, TypeError):
        raise TokenError("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("unsupported token algorithm")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    expected = hmac.new(secret, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        raise TokenError("bad token signature")
    if not isinstance(claims, dict) or claims.get("iss") != ISSUER \
            or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("exp"), int):
        raise TokenError("token is missing required claims")
    now = time.time() if now is None else now
    if now >= claims["exp"]:
        raise TokenExpired("token has expired; log in again")
    return claims
