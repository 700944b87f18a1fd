"""Registration and log-in."""

from . import passwords, tokens
from .errors import conflict, unauthorized
from .storage import EmailTaken


def new_user_id():
    import secrets   # only registration needs it: not imported at init
    return "usr_" + secrets.token_hex(12)


def public_user(user):
    return {"user_id": user["user_id"], "email": user["email"]}


def register(store, email, password, now_ms):
    user = {"user_id": new_user_id(), "email": email,
            "password_hash": passwords.hash_password(password), "created_at": now_ms}
    try:
        store.create_user(user)
    except EmailTaken:
        raise conflict("an account with this email already exists", code="email_taken") from None
    return user


def login(store, settings, email, password, now=None):
    user = store.get_user_by_email(email)
    if user is None:
        passwords.burn_time(password)
        raise unauthorized("invalid email or password", code="invalid_credentials")
    if not passwords.verify_password(password, user["password_hash"]):
        raise unauthorized("invalid email or password", code="invalid_credentials")
    token, claims = tokens.issue(settings.token_secret, user["user_id"], user["email"],
                                 settings.token_ttl, now=now)
    return {"token": token, "token_type": "Bearer", "expires_in": settings.token_ttl,
            "user": public_user(user)}


def authenticate(settings, authorization, now=None):
    """The claims of a valid 'Authorization: Bearer <token>', else 401."""
    if not authorization:
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>' "
                           "from POST /sessions", code="missing_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'", code="invalid_token")
    try:
        return tokens.verify(settings.token_secret, token.strip(), now=now)
    except tokens.TokenExpired as err:
        raise unauthorized(str(err), code="token_expired") from None
    except tokens.TokenError as err:
        raise unauthorized(f"invalid token: {err}", code="invalid_token") from None
