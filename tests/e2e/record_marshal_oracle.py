"""Records marshal_oracle.json: what the official encoder makes of each value in
marshal_cases.py. Not run by the test suite (simplejson 3.20 cannot be installed there).

It needs simplejson 3.20.1 *with its C speedups* (c_make_encoder is what runs on Lambda; the
pure-Python encoder differs in places). One way, on Debian 12: download Debian trixie's
python3-simplejson 3.20.1 binary package, unpack it (dpkg-deb -x), and run this with a
CPython 3.13 (the package's _speedups is built for 3.13):

    PYTHONPATH=<unpacked>/usr/lib/python3/dist-packages python3.13 \\
        tests/e2e/record_marshal_oracle.py > tests/e2e/marshal_oracle.json

The encoder below has awslambdaric 4.0.1's settings (lambda_runtime_marshaller.py, python3.12+
mode; see ../shared/spec/awslambdaric.md section 4): use_decimal off, ensure_ascii off, a
default() that writes a Decimal's str() raw (NaN as float nan), and bytes results posted raw.
"""

import decimal
import json
import math
import os
import sys

import simplejson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import marshal_cases  # noqa: E402


class OfficialEncoder(simplejson.JSONEncoder):
    def __init__(self):
        super().__init__(use_decimal=False, ensure_ascii=False)

    def default(self, obj):
        if not isinstance(obj, decimal.Decimal):
            return super().default(obj)
        return math.nan if obj.is_nan() else simplejson.RawJSON(str(obj))


def outcome(value):
    if isinstance(value, bytes):
        return {"kind": "raw", "body": value.hex()}
    try:
        text = OfficialEncoder().encode(value)
    except Exception as e:
        return {"kind": "error", "message": "Unable to marshal response: {}".format(e)}
    return {"kind": "json", "body": text}


def main():
    assert simplejson.__version__ == "3.20.1", simplejson.__version__
    assert simplejson.encoder.c_make_encoder is not None, "simplejson without its C speedups"
    record = {"_about": "written by record_marshal_oracle.py with simplejson %s (C encoder), "
                        "CPython %s" % (simplejson.__version__, sys.version.split()[0])}
    for name, build in marshal_cases.CASES.items():
        marshal_cases.reset()
        record[name] = outcome(build())
    marshal_cases.reset()
    json.dump(record, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
