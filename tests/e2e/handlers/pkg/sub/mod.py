def fn(event, context):
    return {"where": "pkg.sub.mod", "name": __name__}
