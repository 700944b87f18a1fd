"""The echo handler: returns the event, so the runtime decodes and re-encodes it."""


def lambda_handler(event, context):
    return event
