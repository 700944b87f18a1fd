"""Password hashing with scrypt (hashlib.scrypt) and a random per-user salt.

Stored form: "scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>", so the cost can be raised later
and old hashes still verify.
"""

import base64
import hashlib
import hmac
import os

N, R, P = 2 ** 14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MAXMEM = 64 * 1024 * 1024


def _b64(raw):
    return base64.b64encode(raw).decode("ascii")


def _derive(password, salt, n, r, p):
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=MAXMEM, dklen=KEY_BYTES)


def hash_password(password):
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password, stored):
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the email is unknown, so that a login for an unknown email takes as
# long as one with a wrong password and the response time does not tell which emails exist.
_DUMMY = None


def burn_time(password):
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password("not-a-real-password")
    verify_password(password, _DUMMY)
