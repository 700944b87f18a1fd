"""Every input the store accepts is checked here; a bad one is a 400 with a message that
names the field and says what is expected."""

import re

from .errors import bad_request

SKU_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
ORDER_ID_RE = re.compile(r"^ord_[a-z0-9]{26}$")
CARD_TOKEN_RE = re.compile(r"^tok_[A-Za-z0-9_]{1,64}$")
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

# An email is local@domain: the local part is one or more of these characters (the "dot-atom"
# characters of RFC 5322), the domain two or more dot-separated labels of 1 to 63 letters,
# digits and '-', not starting or ending with '-'.
_LETTERS_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
EMAIL_LOCAL_CHARS = frozenset(_LETTERS_DIGITS + ".!#$%&'*+/=?^_`{|}~-")
EMAIL_LABEL_CHARS = frozenset(_LETTERS_DIGITS + "-")

PASSWORD_MIN = 8
PASSWORD_MAX = 128
MAX_QUANTITY = 99       # of one sku in a cart
MAX_CART_LINES = 20


def body_object(body, allowed, required=()):
    """The JSON body must be an object with only the allowed fields and all required ones."""
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request(f"unknown field '{unknown[0]}'; allowed fields: {', '.join(allowed)}")
    for name in required:
        if name not in body or body[name] is None:
            raise bad_request(f"'{name}' is required")
    return body


def _is_email(value):
    local, at, domain = value.partition("@")
    if not at or not local or not EMAIL_LOCAL_CHARS.issuperset(local):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(
        1 <= len(label) <= 63 and EMAIL_LABEL_CHARS.issuperset(label)
        and label[0] != "-" and label[-1] != "-"
        for label in labels)


def email(value):
    if not isinstance(value, str):
        raise bad_request("'email' must be a string")
    value = value.strip()
    if not value or len(value) > 254 or not _is_email(value):
        raise bad_request("'email' must be a valid email address")
    # one account per address, whatever the capitals (the usual practice, though RFC 5321
    # lets the local part be case-sensitive)
    return value.lower()


def password(value):
    if not isinstance(value, str):
        raise bad_request("'password' must be a string")
    if len(value) < PASSWORD_MIN:
        raise bad_request(f"'password' must be at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise bad_request(f"'password' must be at most {PASSWORD_MAX} characters")
    return value


def sku(value, field="sku"):
    if not isinstance(value, str) or not SKU_RE.match(value):
        raise bad_request(f"'{field}' must be a product code like 'MUG-001' "
                          "(capital letters, digits and '-', up to 32)")
    return value


def quantity(value, field="quantity"):
    # bool is an int in Python; true is not a quantity
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{field}' must be a whole number")
    if not 1 <= value <= MAX_QUANTITY:
        raise bad_request(f"'{field}' must be between 1 and {MAX_QUANTITY}")
    return value


def card_token(value):
    if not isinstance(value, str) or not CARD_TOKEN_RE.match(value):
        raise bad_request("'card_token' must be a card token like 'tok_visa'")
    return value


def idempotency_key(value):
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(value):
        raise bad_request("the Idempotency-Key header must be 1 to 128 characters of letters, "
                          "digits, '_', '-', '.' or ':'", code="invalid_idempotency_key")
    return value


def order_id(value):
    if not ORDER_ID_RE.match(value):
        raise bad_request("order id must look like 'ord_' followed by 26 lowercase letters or digits")
    return value
