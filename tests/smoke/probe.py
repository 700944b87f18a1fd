"""A handler that reports where its interpreter came from. The smoke tests drop it into a task
root next to the function code (it is not part of any function zip).

    event {"imports": ["ssl", ...], "extra_path": [...]}  ->  {"prefix": ..., "path": [...], ...}
"""
import importlib
import os
import sys


def handler(event, context):
    event = event or {}
    for p in event.get("extra_path", []):
        if p not in sys.path:
            sys.path.append(p)
    modules = {}
    for name in event.get("imports", []):
        try:
            mod = importlib.import_module(name)
            modules[name] = getattr(mod, "__file__", None) or "<built-in>"
        except Exception as e:  # reported, not raised: the test says which import failed
            modules[name] = f"!{type(e).__name__}: {e}"
    if "boto3" in sys.modules:
        import boto3
        kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        boto3.client("dynamodb", **kw)   # loads botocore's data and the endpoint resolver
    with open("/proc/self/maps") as f:
        maps = sorted({line.split()[-1] for line in f if line.rstrip().split()[-1].startswith("/")})
    return {
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "exec_prefix": sys.exec_prefix,
        "platlibdir": sys.platlibdir,
        "path": sys.path,
        "executable": sys.executable,
        "version": sys.version,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "modules": modules,
        "maps": maps,
        "env": sorted(os.environ),
    }
