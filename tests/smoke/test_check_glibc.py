"""scripts/check_glibc.py, the check that fails the AL2023 layer build when an object needs a glibc
newer than 2.34. On the native layer (built from Debian 12's packages) it must find what keeps
that layer off Amazon Linux 2023: libpython3.11's hypot@GLIBC_2.35, among others. That finding
is expected here, so it is asserted, not treated as a failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_glibc.py"
LAYER_ZIP = Path(os.environ.get("LAYER_DIST") or ROOT / "dist") / "host-layer-native.zip"

sys.path.insert(0, str(ROOT / "scripts"))
import check_glibc  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, str(CHECK), *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def native_layer():
    if not LAYER_ZIP.exists():
        msg = f"{LAYER_ZIP} is missing: run `make layer-native` first"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return LAYER_ZIP


def test_native_layer_does_not_fit_al2023_and_says_why(native_layer):
    res = run("--json", native_layer)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["fits"] is False
    rows = {r["file"]: r for r in doc["rows"]}
    assert "bootstrap" in rows
    libpython = next(r for f, r in rows.items() if re.match(r"lib/libpython3\.\d+\.so", f))
    assert libpython["max_glibc"] == "2.35"
    assert "hypot@GLIBC_2.35" in libpython["over"]
    assert any("hypot@GLIBC_2.35" in p for p in doc["problems"])
    # every ELF object is listed: bootstrap, the libraries, the stdlib's extension modules
    assert any("/lib-dynload/" in f for f in rows)
    assert sum(f.startswith("lib/lib") for f in rows) >= 3


def test_native_layer_is_complete_for_the_glibc_it_was_built_on(native_layer):
    """Against Debian 12's own glibc (2.36) the layer fits: no library is missing from lib/, no
    GLIBC_PRIVATE, no copy of glibc itself. So the only thing between it and AL2023 is glibc."""
    res = run("--max", "2.36", native_layer)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FITS" in res.stdout


def test_report_only_and_table(native_layer):
    res = run("--report-only", native_layer)
    assert res.returncode == 0
    assert re.search(r"^lib/libpython3\.\d+\.so\.1\.0\s+2\.35\s+!\s+hypot", res.stdout, re.M)
    assert "DOES NOT FIT glibc 2.34" in res.stdout


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) not installed")
def test_agrees_with_readelf(native_layer, tmp_path):
    import zipfile
    with zipfile.ZipFile(native_layer) as z:
        z.extractall(tmp_path)
    checked = 0
    for path in sorted(tmp_path.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        elf = check_glibc.read_elf(str(path))
        if elf is None:
            continue
        needs, needed = elf
        out = subprocess.run(["readelf", "-W", "-V", "-d", str(path)], capture_output=True,
                             text=True).stdout
        assert set(re.findall(r"Name: (GLIBC_[0-9.]+|GLIBC_PRIVATE)", out)) == set(needs), path
        assert re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", out) == needed, path
        checked += 1
    assert checked > 20


def test_flags_missing_libraries_and_shipped_glibc(tmp_path, host_bin):
    layer = tmp_path / "layer"
    (layer / "lib").mkdir(parents=True)
    shutil.copy2(host_bin, layer / "bootstrap")
    libc = next(p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
                            "/usr/lib/x86_64-linux-gnu/libc.so.6") if os.path.exists(p))
    shutil.copy2(libc, layer / "lib" / "libc.so.6")
    res = run("--max", "9.99", "--json", layer)
    assert res.returncode == 1
    problems = "\n".join(json.loads(res.stdout)["problems"])
    assert re.search(r"bootstrap: needs libpython3\.\d+\.so\.1\.0, which is neither in lib/", problems)
    assert "lib/libc.so.6: is part of glibc" in problems


def test_usage_errors(tmp_path):
    assert run(tmp_path / "nope").returncode == 2
    assert run("--max", "two", tmp_path).returncode == 2
    empty = run(tmp_path)
    assert empty.returncode == 0 and "0 ELF objects" in empty.stdout
