#!/usr/bin/env python3
"""Lists every ELF object in a Lambda layer and the newest glibc symbol version it needs.

usage: check_glibc.py [--max 2.34] [--json | --quiet] [--report-only] LAYER_DIR_OR_ZIP

Amazon Linux 2023 (the provided.al2023 runtime) ships glibc 2.34: an object that needs, say,
hypot@GLIBC_2.35 fails to load there with "version `GLIBC_2.35' not found". For each ELF file
(bootstrap, lib/*.so*, lib-dynload modules, compiled packages) this prints the newest GLIBC_x.y
it needs and the symbols that need it, then whether the layer fits.

Exit status: 0 fits; 1 some object needs a glibc newer than --max, needs GLIBC_PRIVATE, needs a
library that is neither in the layer's lib/ nor part of glibc, or the layer ships glibc's own
libraries (libc.so.6 and friends must come from the system); 2 usage error. --report-only prints the same and exits 0.

Pure standard library: it reads the ELF version-needs tables itself (.gnu.version_r,
.gnu.version, .dynsym), so it runs in a bare build image and gives the same answer as
`readelf -V`.
"""
import argparse
import json
import os
import struct
import sys
import zipfile

SHT_DYNAMIC = 6
SHT_DYNSYM = 11
DT_NEEDED = 1
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF

# glibc's own libraries: the system provides them, a layer must not (they must match ld.so).
GLIBC_SONAMES = {
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6", "libmvec.so.1",
    "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2", "libutil.so.1",
    "libanl.so.1", "libBrokenLocale.so.1", "libc_malloc_debug.so.0", "libthread_db.so.1",
    "libnss_files.so.2", "libnss_dns.so.2", "libnss_compat.so.2", "libnss_db.so.2",
    "libnss_hesiod.so.2",
}


class ElfError(Exception):
    pass


def parse_version(name):
    """'GLIBC_2.35' -> (2, 35); 'GLIBC_2.2.5' -> (2, 2, 5)."""
    return tuple(int(p) for p in name.split("_", 1)[1].split("."))


def fmt_version(v):
    return ".".join(str(p) for p in v)


def read_elf(path):
    """Returns (needs, needed) for the ELF file at `path`, or None if it is not an ELF file:
    needs = {version_name: set(symbols)} for every GLIBC_* version (GLIBC_PRIVATE included) it
    needs, needed = its DT_NEEDED library names."""
    with open(path, "rb") as f:
        return parse_elf(f.read())


def parse_elf(data):
    """read_elf() for the bytes of a file."""
    if data[:4] != b"\x7fELF":
        return None
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    try:
        if is64:
            shoff, = struct.unpack_from(end + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
            sh_fmt, sym_fmt, sym_size, dyn_fmt = end + "IIQQQQIIQQ", end + "IBBHQQ", 24, end + "qQ"
        else:
            shoff, = struct.unpack_from(end + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
            sh_fmt, sym_fmt, sym_size, dyn_fmt = end + "IIIIIIIIII", end + "IIIBBH", 16, end + "iI"
        sections = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
    except struct.error as e:
        raise ElfError(f"truncated ELF headers: {e}") from None

    def cstr(strtab_index, offset):
        base = sections[strtab_index][4] + offset
        return data[base:data.index(b"\0", base)].decode("ascii", "replace")

    # Version index -> (library, version name) from .gnu.version_r.
    wanted = {}
    for sh in sections:
        if sh[1] != SHT_GNU_VERNEED:
            continue
        link, count = sh[6], sh[7]
        off = sh[4]
        for _ in range(count):
            _vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from(end + "HHIII", data, off)
            lib = cstr(link, vn_file)
            aux = off + vn_aux
            for _ in range(vn_cnt):
                _hash, _flags, other, name, next_ = struct.unpack_from(end + "IHHII", data, aux)
                wanted[other & 0x7FFF] = (lib, cstr(link, name))
                aux += next_
            off += vn_next
    needs = {}
    for _index, (_lib, name) in wanted.items():
        if name.startswith("GLIBC_"):
            needs.setdefault(name, set())

    # Which undefined dynamic symbols carry each version (for the report).
    dynsym = next((s for s in sections if s[1] == SHT_DYNSYM), None)
    versym = next((s for s in sections if s[1] == SHT_GNU_VERSYM), None)
    if dynsym and versym:
        nsyms = dynsym[5] // sym_size
        for i in range(nsyms):
            fields = struct.unpack_from(sym_fmt, data, dynsym[4] + i * sym_size)
            st_name = fields[0]
            st_shndx = fields[3] if is64 else fields[5]
            if st_shndx != 0 or st_name == 0:
                continue
            ver, = struct.unpack_from(end + "H", data, versym[4] + 2 * i)
            lib_name = wanted.get(ver & 0x7FFF)
            if lib_name and lib_name[1] in needs:
                needs[lib_name[1]].add(cstr(dynsym[6], st_name))

    needed = []
    dyn_size = struct.calcsize(dyn_fmt)
    for sh in sections:
        if sh[1] != SHT_DYNAMIC:
            continue
        for off in range(sh[4], sh[4] + sh[5], dyn_size):
            tag, val = struct.unpack_from(dyn_fmt, data, off)
            if tag == 0:
                break
            if tag == DT_NEEDED:
                needed.append(cstr(sh[6], val))
    return needs, needed


def dir_files(root):
    """(relative path, function returning the bytes) for every regular file under root."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            yield os.path.relpath(path, root), lambda path=path: open(path, "rb").read()


def zip_files(z):
    """dir_files() for a zip, read in place (a layer unpacks to ~150 MB)."""
    for info in sorted(z.infolist(), key=lambda i: i.filename):
        if info.is_dir() or (info.external_attr >> 16) & 0o170000 == 0o120000:   # dir, symlink
            continue
        with z.open(info) as f:
            if f.read(4) != b"\x7fELF":
                continue
        yield info.filename, lambda info=info: z.read(info)


def scan(files, shipped, max_version):
    """Returns (rows, problems): one row per ELF file, in path order. `files` yields
    (relative path, read function) pairs (dir_files, zip_files); `shipped` holds the names in
    the layer's lib/ folder.

    Besides the glibc versions, every DT_NEEDED library must be glibc's or sit in the layer's
    lib/ folder, the one folder on the loader's path (bootstrap's $ORIGIN/lib, /opt/lib)."""
    rows, problems = [], []
    for rel, read in files:
        name = os.path.basename(rel)
        try:
            elf = parse_elf(read())
        except ElfError as e:
            problems.append(f"{rel}: cannot read ELF: {e}")
            continue
        if elf is None:
            continue
        needs, needed = elf
        public = {n: s for n, s in needs.items() if n != "GLIBC_PRIVATE"}
        newest = max(public, key=parse_version) if public else None
        row = {
            "file": rel,
            "max_glibc": fmt_version(parse_version(newest)) if newest else None,
            "symbols": sorted(public[newest]) if newest else [],
            "over": sorted(
                (f"{sym}@{n}" for n, syms in public.items()
                 if parse_version(n) > max_version for sym in syms)),
            "glibc_private": "GLIBC_PRIVATE" in needs,
            "needed": needed,
            "missing": [n for n in needed if n not in GLIBC_SONAMES and n not in shipped],
        }
        rows.append(row)
        if newest and parse_version(newest) > max_version:
            problems.append(f"{rel}: needs glibc {row['max_glibc']} "
                            f"({', '.join(row['over'][:6]) or 'version tag only'})")
        if row["glibc_private"]:
            problems.append(f"{rel}: needs GLIBC_PRIVATE (a glibc-internal library was copied)")
        for n in row["missing"]:
            problems.append(f"{rel}: needs {n}, which is neither in lib/ nor part of glibc")
        if name in GLIBC_SONAMES:
            problems.append(f"{rel}: is part of glibc; the layer must use the system's copy")
    return rows, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("layer", help="an unpacked layer folder or a layer .zip")
    ap.add_argument("--max", default="2.34", help="newest glibc allowed (default 2.34: AL2023)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--quiet", action="store_true", help="print only the verdict and problems")
    ap.add_argument("--report-only", action="store_true", help="always exit 0")
    args = ap.parse_args(argv)
    try:
        max_version = tuple(int(p) for p in args.max.split("."))
    except ValueError:
        ap.error(f"--max wants a version like 2.34, not {args.max!r}")

    if os.path.isfile(args.layer) and zipfile.is_zipfile(args.layer):
        with zipfile.ZipFile(args.layer) as z:
            shipped = {n[4:] for n in z.namelist() if n.startswith("lib/") and n.count("/") == 1}
            rows, problems = scan(zip_files(z), shipped, max_version)
    elif os.path.isdir(args.layer):
        lib = os.path.join(args.layer, "lib")
        shipped = set(os.listdir(lib)) if os.path.isdir(lib) else set()
        rows, problems = scan(dir_files(args.layer), shipped, max_version)
    else:
        ap.error(f"{args.layer}: not a folder or a zip file")

    fits = not problems
    if args.json:
        json.dump({"layer": args.layer, "max": args.max, "fits": fits, "rows": rows,
                   "problems": problems}, sys.stdout, indent=1)
        print()
    else:
        if not args.quiet:
            print_table(rows)
        print(f"{len(rows)} ELF objects in {args.layer}")
        if fits:
            al2023 = " (Amazon Linux 2023, provided.al2023)" if max_version == (2, 34) else ""
            print(f"FITS: every object runs on glibc {args.max}{al2023}")
        else:
            print(f"DOES NOT FIT glibc {args.max}:")
            for p in problems:
                print(f"  {p}")
    return 0 if fits or args.report_only else 1


def print_table(rows):
    width = max([len(r["file"]) for r in rows] + [4])
    print(f"{'FILE':<{width}}  GLIBC   NEWEST SYMBOLS")
    for r in rows:
        syms = ", ".join(r["symbols"][:4]) + (" ..." if len(r["symbols"]) > 4 else "")
        flag = " !" if r["over"] else ""
        print(f"{r['file']:<{width}}  {r['max_glibc'] or '-':<6}{flag:2} {syms}")
    print()


if __name__ == "__main__":
    sys.exit(main())
