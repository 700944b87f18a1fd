"""Payments go through a PaymentProvider. The default, OfflineTestProvider, is deterministic
and needs no network: like a card processor's test cards, the card token decides.

    tok_visa, tok_mastercard, tok_amex        approved
    tok_chargeDeclined                        declined: generic_decline
    tok_chargeDeclinedInsufficientFunds       declined: insufficient_funds
    tok_chargeDeclinedExpiredCard             declined: expired_card
    tok_chargeDeclinedFraudulent              declined: fraudulent

A provider must be idempotent on `idempotency_key`: charging again with the same key returns
the first result and moves no money. The store uses the order id as that key, so even a
retried checkout that reaches the provider twice is charged once.
"""

import hashlib


class ChargeResult:
    """A provider's decision."""

    __slots__ = ("approved", "charge_id", "brand", "decline_code", "message")

    def __init__(self, approved, charge_id="", brand="", decline_code="", message=""):
        self.approved = approved
        self.charge_id = charge_id
        self.brand = brand
        self.decline_code = decline_code
        self.message = message

    def __eq__(self, other):   # equal when every field is
        if type(other) is not type(self):
            return NotImplemented
        return (self.approved, self.charge_id, self.brand, self.decline_code, self.message) == \
            (other.approved, other.charge_id, other.brand, other.decline_code, other.message)


class PaymentProvider:
    name = "abstract"

    def supports(self, card_token):
        """Whether the token is one this provider can charge (checked before reserving stock)."""
        raise NotImplementedError

    def charge(self, *, amount_cents, currency, card_token, idempotency_key, description=""):
        """Charge the card; a ChargeResult. Raises PaymentError when the provider is unreachable."""
        raise NotImplementedError


class PaymentError(Exception):
    """The provider could not be asked (network, outage): no decision was made."""


APPROVE = {"tok_visa": "visa", "tok_mastercard": "mastercard", "tok_amex": "amex"}
DECLINE = {
    "tok_chargeDeclined": ("generic_decline", "your card was declined"),
    "tok_chargeDeclinedInsufficientFunds": ("insufficient_funds", "your card has insufficient funds"),
    "tok_chargeDeclinedExpiredCard": ("expired_card", "your card has expired"),
    "tok_chargeDeclinedFraudulent": ("fraudulent", "your card was declined"),
}


class OfflineTestProvider(PaymentProvider):
    name = "offline-test"

    def __init__(self):
        self.ledger = {}   # idempotency_key -> ChargeResult; what a real provider keeps server side
        self.calls = 0     # how many times charge() ran; tests read it

    def supports(self, card_token):
        return card_token in APPROVE or card_token in DECLINE

    def charge(self, *, amount_cents, currency, card_token, idempotency_key, description=""):
        self.calls += 1
        if idempotency_key in self.ledger:
            return self.ledger[idempotency_key]
        if amount_cents <= 0:
            raise ValueError("amount must be positive")
        digest = hashlib.sha256(f"{idempotency_key}|{amount_cents}|{currency}".encode()).hexdigest()
        if card_token in APPROVE:
            result = ChargeResult(True, charge_id="ch_" + digest[:24], brand=APPROVE[card_token])
        elif card_token in DECLINE:
            code, message = DECLINE[card_token]
            result = ChargeResult(False, decline_code=code, message=message)
        else:
            result = ChargeResult(False, decline_code="card_not_supported",
                                  message="this card cannot be charged")
        self.ledger[idempotency_key] = result
        return result


def default_provider():
    return OfflineTestProvider()
