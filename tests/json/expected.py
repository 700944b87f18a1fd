"""Writes the expected results of the JSON decoding cases from simplejson itself.

Each case is a folder holding `input` (the event body, bytes). Under valid/ the folder also
holds `output`: ascii() of what simplejson.loads(input) returns; under invalid/ it holds
`error`: str() of the exception it raises (what follows "Unable to unmarshal input: " in the
Runtime.UnmarshalError document). tests/unit/test_event.c and tests/e2e/test_json_cases.py
check host against these files.

The oracle is simplejson 3.20.1 with its C scanner, as awslambdaric 4.0.1 runs it on the
managed runtimes (its pure-Python scanner puts two escape errors one character off). It is
not part of this repository; to regenerate, unpack Debian's python3-simplejson 3.20.1 .deb
and run this file with a CPython that can load its _speedups module:

    python3.13 tests/json/expected.py /path/to/usr/lib/python3/dist-packages [NEW_CASE_DIR...]

A folder given after the path is a new case (holding only `input`): it is moved under
valid/ or invalid/ by its result. Existing cases move too if their result changes kind.
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def result(simplejson, data):
    try:
        return "valid", "output", ascii(simplejson.loads(data))
    except Exception as e:  # what awslambdaric's unmarshal_request catches
        return "invalid", "error", str(e)


def main():
    sys.path.insert(0, sys.argv[1])
    import simplejson
    import simplejson.scanner
    assert simplejson.__version__ == "3.20.1", simplejson.__version__
    assert simplejson.scanner.c_make_scanner is not None, "simplejson's C scanner did not load"
    cases = [os.path.join(HERE, kind, name) for kind in ("valid", "invalid")
             if os.path.isdir(os.path.join(HERE, kind))
             for name in sorted(os.listdir(os.path.join(HERE, kind)))]
    cases += [os.path.abspath(p) for p in sys.argv[2:]]
    for case in cases:
        with open(os.path.join(case, "input"), "rb") as f:
            kind, fname, text = result(simplejson, f.read())
        for stale in ("output", "error"):
            if os.path.exists(os.path.join(case, stale)):
                os.remove(os.path.join(case, stale))
        dest = os.path.join(HERE, kind, os.path.basename(case))
        if os.path.abspath(case) != dest:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.move(case, dest)
        with open(os.path.join(dest, fname), "w", encoding="ascii") as f:
            f.write(text + "\n")
        print(kind, os.path.basename(case))


if __name__ == "__main__":
    main()
