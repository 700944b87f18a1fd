"""The noop handler: measures a runtime's per-invoke overhead."""


def lambda_handler(event, context):
    return {"ok": True}
