"""scripts/check_glibc.py, the check that fails the layer build when an object needs a glibc
newer than 2.34 (Amazon Linux 2023). The layer `make layer` builds must fit; a layer holding this
machine's own libpython (Debian 12: hypot@GLIBC_2.35) must not, and the check must say why.
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
DEFAULT_PYTHON = (ROOT / "layer" / "python-version").read_text().strip()
LAYER_ZIP = Path(os.environ.get("LAYER_DIST") or ROOT / "dist" / f"python{DEFAULT_PYTHON}") \
    / "host-layer.zip"
SYSTEM_LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"   # Debian 12's

sys.path.insert(0, str(ROOT / "scripts"))
import check_glibc  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, str(CHECK), *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def layer_zip():
    if not LAYER_ZIP.exists():
        msg = f"{LAYER_ZIP} is missing: run `make layer` first"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return LAYER_ZIP


@pytest.fixture
def debian_layer(tmp_path, host_bin):
    """A layer folder with this machine's libpython in lib/: what a layer built from Debian 12's
    packages carries."""
    if not os.path.exists(SYSTEM_LIBPYTHON):
        pytest.skip(f"{SYSTEM_LIBPYTHON} is not installed")
    layer = tmp_path / "debian-layer"
    (layer / "lib").mkdir(parents=True)
    shutil.copy2(host_bin, layer / "bootstrap")
    shutil.copy2(SYSTEM_LIBPYTHON, layer / "lib")
    return layer


def test_the_layer_fits_al2023(layer_zip):
    res = run("--json", layer_zip)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["fits"] is True and not doc["problems"]
    rows = {r["file"]: r for r in doc["rows"]}
    assert "bootstrap" in rows
    assert "bin/python3" not in rows, "a symlink is not an object of its own"
    # every ELF object is listed: bootstrap, the libraries, the stdlib's extension modules
    assert any("/lib-dynload/" in f for f in rows)
    assert sum(f.startswith("lib/lib") for f in rows) >= 3
    assert all(tuple(map(int, r["max_glibc"].split("."))) <= (2, 34) for r in rows.values()
               if r["max_glibc"])


def test_debian_libpython_does_not_fit_and_says_why(debian_layer):
    res = run("--json", debian_layer)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["fits"] is False
    rows = {r["file"]: r for r in doc["rows"]}
    libpython = rows["lib/libpython3.11.so.1.0"]
    assert libpython["max_glibc"] == "2.35"
    assert "hypot@GLIBC_2.35" in libpython["over"]
    assert any("hypot@GLIBC_2.35" in p for p in doc["problems"])
    # against Debian 12's own glibc (2.36) no object needs a newer glibc (what is left is the
    # libraries this folder does not carry)
    newer = json.loads(run("--json", "--max", "2.36", debian_layer).stdout)["problems"]
    assert not [p for p in newer if "needs glibc" in p], newer


def test_report_only_and_table(debian_layer):
    res = run("--report-only", debian_layer)
    assert res.returncode == 0
    assert re.search(r"^lib/libpython3\.11\.so\.1\.0\s+2\.35\s+!\s+hypot", res.stdout, re.M)
    assert "DOES NOT FIT glibc 2.34" in res.stdout


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) not installed")
def test_agrees_with_readelf(layer_zip, tmp_path):
    import zipfile
    with zipfile.ZipFile(layer_zip) as z:
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
