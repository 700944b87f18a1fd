"""Randomised round trips: host's decoder and marshaller against CPython's json module.

For valid JSON, the official runtime's bytes equal json.dumps(json.loads(doc),
ensure_ascii=False) in the python3.12+ mode (awslambdaric.md §3.4, §4: same separators,
float repr, escapes, big ints). 3,000 generated documents go through an echo handler in one
warm `host --local` process; every output line must match the reference. Documents with
NaN/Infinity are not JSON to simplejson 3.20.1: they are refused, in both modes, at the
first such literal. A result holding NaN or an
infinity is a MarshalError (simplejson >= 3.19 has allow_nan off).
"""

import json
import random
import subprocess

from e2e_helpers import write

ALPHABET = ("abcXYZ019 _-/\\\"'\n\t\r\b\f\x00\x01\x1f\x7f"
            "é£€\u2028\u2029\u00a0中文😀\U0001F680\ufeff")


def rand_str(r):
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(0, 12)))


def rand_number(r):
    kind = r.randint(0, 6)
    if kind == 0:
        return r.randint(-10, 10)
    if kind == 1:
        return r.randint(-2**70, 2**70)  # big ints stay exact
    if kind == 2:
        return r.choice([0.1, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, -0.0, 1.0, 2.5])
    if kind == 3:
        return r.uniform(-1e6, 1e6)
    if kind == 4:
        return r.choice([float("nan"), float("inf"), float("-inf")])
    if kind == 5:
        return r.random() * 10 ** r.randint(-30, 30)
    return r.getrandbits(53) / 2 ** r.randint(0, 60)


def rand_value(r, depth=0):
    pick = r.randint(0, 9 if depth < 4 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return r.choice([True, False])
    if pick in (2, 3):
        return rand_number(r)
    if pick in (4, 5):
        return rand_str(r)
    if pick in (6, 7):
        return [rand_value(r, depth + 1) for _ in range(r.randint(0, 5))]
    return {rand_str(r): rand_value(r, depth + 1) for _ in range(r.randint(0, 5))}


def test_random_documents_round_trip_byte_exact(host_bin, tmp_task_root, tmp_path):
    write(tmp_task_root, "echo.py", """
        def handler(event, context):
            return event
    """)
    r = random.Random(20261127)
    docs = [json.dumps(rand_value(r), ensure_ascii=r.random() < 0.5) for _ in range(3000)]
    events = tmp_path / "events.jsonl"
    # NaN/Infinity: see the test below.
    valid = [d for d in docs if "NaN" not in d and "Infinity" not in d]
    events.write_text("\n".join(valid) + "\n", encoding="utf-8")
    proc = subprocess.run([host_bin, "--local", str(events), "--handler", "echo.handler",
                           "--task-root", str(tmp_task_root)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.decode("utf-8", "surrogatepass").split("\n")[:-1]
    assert len(lines) == len(valid)
    for doc, got in zip(valid, lines):
        want = json.dumps(json.loads(doc), ensure_ascii=False)
        assert got == want, (doc, got, want)


def first_constant(doc):
    """Index of the first NaN/Infinity/-Infinity literal outside strings."""
    in_string = escaped = False
    for i, c in enumerate(doc):
        if in_string:
            in_string = escaped or c != '"'
            escaped = not escaped and c == "\\"
        elif c == '"':
            in_string = True
        elif doc.startswith(("NaN", "Infinity", "-Infinity"), i):
            return i
    raise AssertionError("no constant in " + doc)


def documents_with_constants(n=200, seed=7):
    """n random JSON documents (stdlib json's text) that hold NaN, Infinity or -Infinity."""
    r = random.Random(seed)
    docs = []
    while len(docs) < n:
        d = json.dumps(rand_value(r))
        if "NaN" in d or "Infinity" in d:
            docs.append(d)
    return docs


def test_random_documents_with_nan_refused_in_both_modes(host_bin, rapi, tmp_task_root,
                                                          tmp_path):
    from rapi_server import start_host
    # the events themselves hold the constants: the decoder refuses them before any handler
    write(tmp_task_root, "echo.py", """
        def handler(event, context):
            return event
    """)
    docs = documents_with_constants()
    want = []
    for doc in docs:
        pos = first_constant(doc)  # one line: column = char + 1
        want.append("Unable to unmarshal input: Expecting value: line 1 column %d (char %d)"
                    % (pos + 1, pos))
    start_host(host_bin, rapi, tmp_task_root, "echo.handler")
    for doc, message in zip(docs, want):
        res = rapi.wait_for_result(rapi.enqueue(doc.encode("utf-8", "surrogatepass")))
        assert res.kind == "error" and res.json()["errorMessage"] == message, doc
    events = tmp_path / "nan.jsonl"
    events.write_bytes("\n".join(docs).encode("utf-8", "surrogatepass") + b"\n")
    proc = subprocess.run([host_bin, "--local", str(events), "--handler", "echo.handler",
                           "--task-root", str(tmp_task_root)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stdout.split(b"\n")[:-1]
    assert [json.loads(line)["errorMessage"] for line in lines] == want


def test_random_results_with_nan_are_marshal_errors(host_bin, rapi, tmp_task_root):
    from rapi_server import start_host
    # the handler builds the value (stdlib json reads NaN), so this is about the marshaller
    write(tmp_task_root, "echo.py", """
        import json
        def handler(event, context):
            return json.loads(event["doc"])
    """)
    docs = documents_with_constants()
    start_host(host_bin, rapi, tmp_task_root, "echo.handler")
    for doc in docs:
        rid = rapi.enqueue({"doc": doc})
        res = rapi.wait_for_result(rid)
        assert res.kind == "error", doc
        assert res.json()["errorMessage"] == ("Unable to marshal response: Out of range float "
                                              "values are not JSON compliant"), doc


def short_decimal(r):
    """A JSON number with 1..17 significant digits, in any of the layouts JSON allows."""
    digits = str(r.randint(1, 10 ** r.randint(1, 17)))
    exp = r.randint(-330, 310)
    sign = "-" if r.random() < 0.3 else ""
    layout = r.randint(0, 3)
    if layout == 0:
        return "%s%s.%se%d" % (sign, digits[0], digits[1:] or "0", exp)
    if layout == 1:
        return "%s0.%s%s" % (sign, "0" * r.randint(0, 8), digits)
    if layout == 2:
        return "%s%s.%s0" % (sign, digits[:1 + r.randint(0, len(digits) - 1)] or "0",
                             digits[1:] or "0")
    return "%s%sE+%d" % (sign, digits, r.randint(0, 20))


def test_float_text_kept_from_the_event_is_repr_exact(host_bin, tmp_task_root, tmp_path):
    # host remembers the text of floats it decoded (<= 15 significant digits) and writes
    # them back without CPython's digit search; the bytes must still be float.__repr__'s.
    write(tmp_task_root, "echo.py", """
        def handler(event, context):
            return event
    """)
    r = random.Random(99)
    docs = ["[" + ", ".join(short_decimal(r) for _ in range(50)) + "]" for _ in range(4000)]
    # a number past the double range reads as inf, which the marshaller refuses (allow_nan off)
    docs = [d for d in docs if "Infinity" not in json.dumps(json.loads(d))]
    events = tmp_path / "floats.jsonl"
    events.write_text("\n".join(docs) + "\n")
    proc = subprocess.run([host_bin, "--local", str(events), "--handler", "echo.handler",
                           "--task-root", str(tmp_task_root)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(docs)
    for doc, got in zip(docs, lines):
        want = json.dumps(json.loads(doc))
        assert got == want, (doc, got, want)
