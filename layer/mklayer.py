"""Assembles host's Lambda layer and the function zips, with the Python it runs under.

usage:
  mklayer.py unpack ZIP DEST
  mklayer.py layer --host BIN --name NAME --out DIST [--stage DIR] [--strip]
  mklayer.py functions --src pyhandlers --manifest layer/functions.txt --out DIST/functions

Run it with the interpreter host embeds (the one host was linked against; layer/build-inside.sh
runs it with the CPython it built): its stdlib, lib-dynload and libpython are what the layer
carries, and it byte-compiles them, so the .pyc files match the embedded interpreter.

The layer, unpacked at /opt by Lambda:
  bootstrap                       host itself (an ELF, no shell script in front of it)
  bin/python3                     a symlink to ../bootstrap: host acts as the interpreter when
                                  started under that name (sys.executable)
  lib/lib*.so.*                   every non-glibc shared library that bootstrap and the stdlib's
                                  extension modules need (found with ldd); libpython3.X.so.1.0
                                  only when host links it dynamically
  lib/python3.X/                  the standard library (tests, IDLE, tkinter, ensurepip pruned)
  lib/python3.X/lib-dynload/      its extension modules
host finds lib/python3.X/os.py next to its own executable (/proc/self/exe) and makes that folder
its Python home, so nothing is read from a Python installed on the machine. Python packages
(boto3) are not part of it: they go in the function zip or a layer of their own.

Every .py is compiled with unchecked-hash .pyc files: Lambda's /opt is read-only and zip
extraction does not keep exact mtimes, so timestamp-checked .pyc would be recompiled (and not
saved) on every cold start.
"""
import argparse
import compileall
import json
import os
import py_compile
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile

PY_X_Y = "python%d.%d" % sys.version_info[:2]

# Never copied: glibc's own libraries must match the system's ld.so.
GLIBC_SONAMES = re.compile(
    r"^(ld-linux.*|linux-vdso|linux-gate|libc|libm|libmvec|libpthread|libdl|librt|libresolv|"
    r"libutil|libanl|libBrokenLocale|libc_malloc_debug|libthread_db|libnss_[a-z]+)\.so(\.|$)")

# Standard library parts a Lambda handler has no use for.
STDLIB_SKIP_DIRS = {"__pycache__", "test", "tests", "idle_test", "idlelib", "tkinter",
                    "turtledemo", "ensurepip", "lib2to3", "site-packages", "dist-packages",
                    "lib-dynload", "__phello__"}
STDLIB_SKIP_FILES = {"sitecustomize.py", "EXTERNALLY-MANAGED", "turtle.py", "__hello__.py"}
STDLIB_SKIP_PREFIXES = ("config-",)   # config-3.11-x86_64-linux-gnu: the static-link kit
# Extension modules that exist only for CPython's own test suite, or need a terminal, a sound
# device or NIS, none of which a Lambda sandbox has (they would also pull in readline, ncurses,
# libnsl and libtirpc).
DYNLOAD_SKIP = re.compile(r"^(_test|_ctypes_test|_xxtestfuzz|xxlimited|xxsubtype|readline|"
                          r"_curses|nis|ossaudiodev)")

# Fixed zip timestamps: the same inputs give the same zip bytes.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def log(msg):
    print(f"mklayer: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


def copy_stdlib(src, dst):
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in STDLIB_SKIP_DIRS
                             and not d.startswith(STDLIB_SKIP_PREFIXES))
        rel = os.path.relpath(dirpath, src)
        out = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(out, exist_ok=True)
        for name in filenames:
            if name in STDLIB_SKIP_FILES or name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path) and not os.path.exists(path):
                continue   # a dangling link, e.g. into /etc
            shutil.copyfile(path, os.path.join(out, name))   # follows symlinks


def copy_dynload(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.endswith(".so") and not DYNLOAD_SKIP.match(name):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))


def ldd(path):
    """{soname: resolved path} of every library `path` needs, transitively, per ldd."""
    res = subprocess.run(["ldd", path], capture_output=True, text=True)
    if res.returncode != 0 and "not a dynamic executable" in (res.stdout + res.stderr):
        return {}
    deps = {}
    for line in res.stdout.splitlines():
        line = line.strip()
        if "=>" not in line:
            continue   # the vdso and the dynamic loader
        name, _, rest = line.partition("=>")
        name, rest = name.strip(), rest.strip()
        if rest.startswith("not found"):
            die(f"{path} needs {name}, which ldd cannot find on this machine")
        deps[name] = rest.split(" (", 1)[0]
    return deps


def elf_files(root):
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


def copy_shared_libs(stage, lib_dir):
    """Copies into lib/ every non-glibc library that the ELF files of the layer need."""
    needed = {}
    for path in sorted(elf_files(stage)):
        for soname, real in ldd(path).items():
            if not GLIBC_SONAMES.match(soname):
                needed.setdefault(soname, real)
    for soname, real in sorted(needed.items()):
        if not os.path.isabs(real) or not os.path.exists(real):
            die(f"cannot resolve {soname} (ldd said {real!r})")
        shutil.copyfile(real, os.path.join(lib_dir, soname))
        os.chmod(os.path.join(lib_dir, soname), 0o755)
    return sorted(needed)


def compile_tree(root, prefix_in_layer):
    """Byte-compiles every .py under root, as they will be found under prefix_in_layer."""
    ok = compileall.compile_dir(
        root, quiet=1, workers=0, stripdir=root, prependdir=prefix_in_layer,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        # A package may carry files that are not meant for this Python (templates, code for
        # another version): they are listed above and stay uncompiled; the rest is compiled.
        log(f"note: some files under {root} did not compile (see above)")


def _links_inside(path, root):
    """True for a symlink to a file inside root (the layer's bin/python3 -> ../bootstrap).
    Other symlinks are followed: the zip holds a copy of what they point to."""
    if not os.path.islink(path) or os.path.isabs(os.readlink(path)):
        return False
    target = os.path.realpath(path)
    return os.path.isfile(target) and target.startswith(os.path.realpath(root) + os.sep)


def write_zip(src_dir, zip_path):
    """Zips src_dir's contents (sorted, fixed timestamps, Unix modes and in-tree symlinks
    kept)."""
    os.makedirs(os.path.dirname(os.path.abspath(zip_path)), exist_ok=True)
    tmp = zip_path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for dirpath, dirnames, filenames in os.walk(src_dir):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, src_dir)
            if rel_dir != ".":
                info = zipfile.ZipInfo(rel_dir + "/", ZIP_DATE)
                info.create_system = 3
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                z.writestr(info, b"")
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                arc = os.path.normpath(os.path.join(rel_dir, name))
                info = zipfile.ZipInfo(arc, ZIP_DATE)
                info.create_system = 3
                if _links_inside(path, src_dir):
                    # Stored as a symlink (what `zip -y` writes): the target is the data.
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    z.writestr(info, os.readlink(path))
                    continue
                mode = 0o755 if os.stat(path).st_mode & 0o111 else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as f:
                    z.writestr(info, f.read())
    os.replace(tmp, zip_path)


def unpack(zip_path, dest):
    """Extracts a zip as Lambda does, keeping the Unix modes and symlinks (zipfile.extractall
    drops both)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            if stat.S_ISLNK(info.external_attr >> 16):
                path = os.path.join(dest, info.filename)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if os.path.lexists(path):
                    os.remove(path)   # as extract() overwrites a file
                os.symlink(z.read(info).decode(), path)
                continue
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(path, mode)


def reset_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)


def strip_debug(root):
    """Drops debug sections from every ELF file (not their dynamic symbols): less to unzip
    and less to read from a cold page cache."""
    strip = shutil.which("strip")
    if not strip:
        die("--strip needs strip (binutils)")
    for path in sorted(elf_files(root)):
        subprocess.run([strip, "--strip-debug", path], check=True)


def tree_size(root):
    """Bytes of the regular files under root (what the layer takes unzipped)."""
    return sum(os.lstat(os.path.join(d, n)).st_size
               for d, _dirs, names in os.walk(root) for n in names)


def build_layer(args):
    stage = os.path.abspath(args.stage or os.path.join("build", args.name))
    reset_dir(stage)
    lib_dir = os.path.join(stage, "lib")
    py_dir = os.path.join(lib_dir, PY_X_Y)

    shutil.copyfile(args.host, os.path.join(stage, "bootstrap"))
    os.chmod(os.path.join(stage, "bootstrap"), 0o755)
    # sys.executable: host runs as the interpreter when started as python3 (a relative link,
    # so it holds wherever the layer is unpacked).
    os.makedirs(os.path.join(stage, "bin"))
    os.symlink("../bootstrap", os.path.join(stage, "bin", "python3"))

    stdlib = sysconfig.get_path("stdlib")
    dynload = sysconfig.get_config_var("DESTSHARED") or os.path.join(stdlib, "lib-dynload")
    if not os.path.isfile(os.path.join(stdlib, "os.py")):
        die(f"no standard library at {stdlib}")
    copy_stdlib(stdlib, py_dir)
    copy_dynload(dynload, os.path.join(py_dir, "lib-dynload"))
    # host's own landmark for the relocation (lib/python3.X/os.py) must be there.
    assert os.path.isfile(os.path.join(py_dir, "os.py"))

    libs = copy_shared_libs(stage, lib_dir)
    if args.strip:
        strip_debug(stage)
    compile_tree(py_dir, f"/opt/lib/{PY_X_Y}")

    manifest = {
        "name": args.name,
        "python": sys.version.split()[0],
        "python_dir": PY_X_Y,
        "libpython": "shared" if any(s.startswith("libpython") for s in libs) else "static",
        "glibc": os.confstr("CS_GNU_LIBC_VERSION").split()[-1],
        "stdlib_from": stdlib,
        "shared_libs": libs,
        "unzipped_bytes": tree_size(stage),
    }
    zip_path = os.path.join(args.out, args.name + ".zip")
    write_zip(stage, zip_path)
    manifest["zipped_bytes"] = os.path.getsize(zip_path)
    with open(os.path.join(args.out, args.name + ".json"), "w") as f:
        json.dump(manifest, f, indent=1)
    log(f"{zip_path}: {manifest['zipped_bytes'] / 1e6:.1f} MB "
        f"({manifest['unzipped_bytes'] / 1e6:.1f} MB unzipped), CPython {manifest['python']}, "
        f"libpython {manifest['libpython']}, {len(libs)} shared libraries")


def read_manifest(path):
    """functions.txt: one function a line, `name: file-or-folder ...` relative to --src."""
    functions = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, rest = line.partition(":")
            if not sep or not rest.split():
                die(f"{path}:{n}: expected 'name: file ...'")
            functions[name.strip()] = rest.split()
    return functions


def build_functions(args):
    os.makedirs(args.out, exist_ok=True)
    for name, entries in read_manifest(args.manifest).items():
        stage = os.path.abspath(os.path.join(args.stage or "build/functions", name))
        reset_dir(stage)
        for entry in entries:
            src = os.path.join(args.src, entry)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(stage, entry),
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif os.path.isfile(src):
                shutil.copyfile(src, os.path.join(stage, entry))
            else:
                die(f"function {name}: {src} does not exist")
        compile_tree(stage, "/var/task")
        zip_path = os.path.join(args.out, name + ".zip")
        write_zip(stage, zip_path)
        log(f"{zip_path}: {', '.join(entries)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lay = sub.add_parser("layer")
    lay.add_argument("--host", required=True, help="the host binary (becomes bootstrap)")
    lay.add_argument("--name", required=True, help="zip name without .zip")
    lay.add_argument("--out", required=True, help="where the zip goes")
    lay.add_argument("--stage", help="staging folder (default build/NAME)")
    lay.add_argument("--strip", action="store_true", help="strip debug sections from ELF files")
    fun = sub.add_parser("functions")
    fun.add_argument("--src", required=True)
    fun.add_argument("--manifest", required=True)
    fun.add_argument("--out", required=True)
    fun.add_argument("--stage", help="staging folder (default build/functions)")
    unp = sub.add_parser("unpack", help="extract a zip keeping file modes")
    unp.add_argument("zip")
    unp.add_argument("dest")
    args = ap.parse_args()
    if args.cmd == "unpack":
        unpack(args.zip, args.dest)
    elif args.cmd == "layer":
        os.makedirs(args.out, exist_ok=True)
        build_layer(args)
    else:
        build_functions(args)


if __name__ == "__main__":
    main()
