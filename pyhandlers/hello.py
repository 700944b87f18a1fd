"""The article's first handler: greets event["name"].

    {"name": "Ada"}  ->  {"statusCode": 200, "body": "{\"message\": \"Hello, Ada!\"}", ...}
    {}               ->  {"statusCode": 400, "body": "{\"error\": \"missing_name\", ...}", ...}

It also takes the name from an API Gateway request (?name=Ada, or a JSON body {"name": ...}),
so the same function works behind an HTTP API.
"""

import json

MAX_NAME = 100


def _response(status, doc):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(doc)}


def _name_from(event):
    if not isinstance(event, dict):
        return None
    if "name" in event:
        return event["name"]
    query = event.get("queryStringParameters") or {}
    if "name" in query:
        return query["name"]
    body = event.get("body")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            return json.loads(body).get("name")
        except ValueError:
            return None
    return None


def lambda_handler(event, context):
    name = _name_from(event)
    if not isinstance(name, str) or not name.strip():
        return _response(400, {"error": "missing_name",
                               "message": "send a non-empty string 'name', e.g. {\"name\": \"Ada\"}"})
    name = name.strip()
    if len(name) > MAX_NAME:
        return _response(400, {"error": "name_too_long",
                               "message": f"'name' must be at most {MAX_NAME} characters"})
    return _response(200, {"message": f"Hello, {name}!"})
