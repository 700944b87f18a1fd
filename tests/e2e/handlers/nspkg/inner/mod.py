# nspkg and nspkg/inner have no __init__.py: namespace packages.
def fn(event, context):
    return {"where": "nspkg.inner.mod", "name": __name__}
