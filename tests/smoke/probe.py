"""A handler that reports where its interpreter came from. The smoke tests drop it into a task
root next to the function code (it is not part of any function zip).

    {"imports": ["ssl", ...], "extra_path": [...]}  ->  {"prefix": ..., "path": [...], ...}
    {"echo": VALUE}                                 ->  VALUE
    {"raise": "text"}                               ->  raises ValueError("text")
    {"fetch": URL}                                  ->  {"status": 200, "body": ...} or {"error": ...}
    {"subprocess": CODE}                            ->  [sys.executable, "-c", CODE]'s result
"""
import importlib
import os
import subprocess
import sys


def handler(event, context):
    event = event or {}
    if "echo" in event:
        return event["echo"]
    if "raise" in event:
        raise ValueError(event["raise"])
    if "fetch" in event:
        return fetch(event["fetch"])
    if "subprocess" in event:
        res = subprocess.run([sys.executable, "-c", event["subprocess"]], capture_output=True,
                             text=True, timeout=10)
        return {"executable": sys.executable, "returncode": res.returncode,
                "stdout": res.stdout, "stderr": res.stderr}
    return describe(event)


def fetch(url):
    """GETs url with the default TLS context (the system's CA bundle), as a handler would."""
    import ssl
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return {"status": resp.status, "body": resp.read().decode(),
                    "verify_paths": list(ssl.get_default_verify_paths())}
    except Exception as e:  # reported, not raised: the test checks which error it was
        return {"error": f"{type(e).__name__}: {e}",
                "verify_paths": list(ssl.get_default_verify_paths())}


def describe(event):
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
