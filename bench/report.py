"""Runs host's benchmark suite and prints one table (see README.md). Standard library only.

usage: report.py [--python PY] [--host HOST_BIN] [--quick] [--reps N] [--only CASES]
                 [--no-callgrind] [--update-readme]
       report.py --readme-from build/results.md

Everything runs pinned to one core (taskset -c $BENCH_CPU, default 1): the server and the runtime
it launches share that core, so no cross-core wake-up is measured. Every case is repeated and the
median run is reported; repetitions are interleaved across the runtimes (host, floor, plain) so that
a noisy minute hurts them alike. Raw result lines go to build/raw.jsonl, the table to
build/results.md (and with --update-readme into README.md between its bench markers)."""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
HANDLERS = os.path.join(HERE, "handlers")
EVENTS = os.path.join(HERE, "events")
SERVER = os.path.join(BUILD, "rapi_bench_server")
CPU = os.environ.get("BENCH_CPU", "1" if (os.cpu_count() or 1) > 1 else "0")
# nice -20 (root only) keeps the machine's other work off the pinned core as far as CFS allows,
# without changing the scheduling class (wake-ups still behave as on Lambda).
NICE = os.environ.get("BENCH_NICE", "-20" if os.geteuid() == 0 else "0")
PIN = ["nice", "-n", NICE, "taskset", "-c", CPU]

# Targets (issue 9), from figures of the same run.
NOOP_FLOOR_RATIO = 1.1     # per noop invoke <= 1.1x the C floor's
COLD_MARGIN_MS = 1.0       # cold start <= a bare C exec + `python3 -I -S -c pass` + 1 ms
MAX_RSS_INIT_MB = 12.0     # peak RSS after init
MAX_SHARED_OBJECTS = 8     # mapped when the first GET next is sent

RUNTIMES = ("host", "floor", "plain")
TITLES = {"host": "host", "floor": "C floor", "plain": "plain Python"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# --------------------------------------------------------------------------- configuration

class Config:
    def __init__(self, args):
        self.python = args.python
        self.host = args.host if args.host and os.access(args.host, os.X_OK) else None
        self.quick = args.quick
        q = args.quick
        self.reps = args.reps or (2 if q else 5)
        self.cold_blocks = 1 if q else 3
        self.cold_starts = 5 if q else 15
        self.ceiling_n = 20000 if q else 100000
        self.ceiling_reps = 1 if q else 3
        # (name, event, handler module, N, warm-up, verify, unit scale, unit)
        self.cases = [
            ("noop", os.path.join(EVENTS, "small.json"), "noop", 3000 if q else 20000, 100 if q else 500,
             "nonempty"),
            ("apigw", os.path.join(EVENTS, "apigw_v2.json"), "echo", 500 if q else 2000, 20 if q else 50, "echo"),
            ("echo1mb", os.path.join(BUILD, "event_1mb.json"), "echo", 8 if q else 30, 2 if q else 3, "echo"),
            ("echo5mb", os.path.join(BUILD, "event_5mb.json"), "echo", 4 if q else 10, 1 if q else 2, "echo"),
        ]
        if args.only:
            keep = set(args.only.split(","))
            self.cases = [c for c in self.cases if c[0] in keep]
        self.callgrind = not args.no_callgrind and shutil.which("valgrind") is not None
        self.cg_n = (20, 120) if q else (200, 2200)

    def runtime_cmd(self, rt):
        if rt == "host":
            return [self.host] if self.host else None
        if rt == "floor":
            return [os.path.join(BUILD, "floor_runtime")]
        return [self.python, "-I", os.path.join(HERE, "plain_runtime.py")]


def runtime_env(handler_module):
    """A clean Lambda-like environment (nothing from the caller's, e.g. no PYTHONPATH)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": handler_module + ".lambda_handler",
        "LAMBDA_TASK_ROOT": HANDLERS,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


# --------------------------------------------------------------------------- running things

RAW = None


def record(kind, rt, res):
    res = dict(res, kind=kind, runtime=rt)
    RAW.write(json.dumps(res) + "\n")
    RAW.flush()
    return res


def run_server(args, rt, kind, handler="noop", cmd=None, timeout=900):
    """Runs rapi_bench_server pinned; returns its result dict (ok False on any failure)."""
    full = PIN + [SERVER] + args + [
        "--cwd", HANDLERS, "--log", os.path.join(BUILD, "logs", "%s-%s.log" % (rt, kind)), "--"] + cmd
    try:
        p = subprocess.run(full, env=runtime_env(handler), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return record(kind, rt, {"ok": False, "reason": "driver timeout"})
    line = p.stdout.strip().splitlines()[-1:] or [""]
    try:
        res = json.loads(line[0])
    except ValueError:
        res = {"ok": False, "reason": "no result (rc %d): %s" % (p.returncode, p.stderr.strip()[-300:])}
    return record(kind, rt, res)


def loop_case(cfg, rt, case):
    name, event, handler, n, warm, verify = case
    cmd = cfg.runtime_cmd(rt)
    return run_server(["--event", event, "-n", str(n), "-w", str(warm), "--verify", verify, "--label", name],
                      rt, name, handler, cmd)


def cold_case(cfg, rt):
    return run_server(["--event", os.path.join(EVENTS, "small.json"), "--cold", "1",
                       "--label", "cold"], rt, "cold", "noop", cfg.runtime_cmd(rt))


def evict_page_cache(root):
    """Drops the page cache of every file under root (posix_fadvise DONTNEED: only these files,
    not the whole machine's cache as `echo 3 > drop_caches` would on a shared machine), so the
    next start reads the layer from disk, as a fresh Lambda sandbox does."""
    for d, _dirs, names in os.walk(root):
        for n in names:
            path = os.path.join(d, n)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def cold_cache_case(cfg, rt, root):
    evict_page_cache(root)
    return run_server(["--event", os.path.join(EVENTS, "small.json"), "--cold", "1",
                       "--label", "cold-cache"], rt, "cold-cache", "noop", cfg.runtime_cmd(rt))


def exit_case(cfg, label, argv):
    return run_server(["--exit", "1", "--label", label], "python", label, "noop", argv)


def self_rss(argv):
    p = subprocess.run(PIN + argv, stdout=subprocess.PIPE, text=True, check=True,
                       env=runtime_env("noop"))
    return int(p.stdout.split()[-1])


def callgrind_run(cfg, rt, n, case="noop"):
    out = os.path.join(BUILD, "callgrind", "%s.%s.%d.out" % (rt, case, n))
    if os.path.exists(out):
        os.unlink(out)
    event, handler = {"noop": ("small.json", "noop"), "apigw": ("apigw_v2.json", "echo")}[case]
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cfg.runtime_cmd(rt)
    label = "callgrind-%s-%d" % (case, n)
    res = run_server(["--event", os.path.join(EVENTS, event), "-n", str(n), "-w", "1", "--term",
                      "--timeout", "1200", "--label", label], rt, label, handler, cmd, timeout=1500)
    res["ir_total"] = callgrind_total(out)
    res["file"] = out
    return res


def callgrind_total(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return None


def callgrind_cold(cfg, label, rt_cmd, exit_mode=False):
    """Instructions from exec to the first GET next (runtimes; stopped there by SIGTERM) or to exit
    (the interpreter floors, which so include their finalization)."""
    out = os.path.join(BUILD, "callgrind", "cold-%s.out" % label)
    if os.path.exists(out):
        os.unlink(out)
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + rt_cmd
    if exit_mode:
        args = ["--exit", "1", "--label", "callgrind-cold"]
    else:
        args = ["--event", os.path.join(EVENTS, "small.json"), "--cold", "1", "--term", "--timeout", "600",
                "--label", "callgrind-cold"]
    res = run_server(args, label, "callgrind-cold", "noop", cmd, timeout=900)
    res["ir_total"] = callgrind_total(out) if res.get("ok") else None
    res["file"] = out
    return res


ANNOT_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$")


def annotate(path, inclusive):
    p = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                        "--threshold=100", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    costs, started = {}, False
    for line in p.stdout.splitlines():
        if line.startswith("Ir") and "file:function" in line:
            started = True
            continue
        if not started or line.startswith("---"):
            continue
        m = ANNOT_LINE.match(line)
        if m:
            costs[m.group(2).strip()] = costs.get(m.group(2).strip(), 0) + int(m.group(1).replace(",", ""))
        elif started and line.strip() and costs:
            break
    return costs


def short_fn(name):
    """'./path/file.c:func [/usr/lib/libx.so.1]' -> 'func (libx.so.1)'."""
    obj = ""
    m = re.match(r"^(.*?)\s*\[(.*)\]$", name)
    if m:
        name, obj = m.group(1), os.path.basename(m.group(2))
    fn = name.rsplit(":", 1)[-1] if ":" in name else name
    return "%s (%s)" % (fn, obj) if obj else fn


def callgrind_diff(f1, f2, n1, n2, inclusive):
    """Per-function cost of one invoke: (cost at n2 invokes - cost at n1) / (n2 - n1)."""
    a, b = annotate(f1, inclusive), annotate(f2, inclusive)
    return {k: (b.get(k, 0) - a.get(k, 0)) / (n2 - n1) for k in set(a) | set(b)}


def obj_of(name):
    m = re.search(r"\[(.*)\]$", name)
    return os.path.basename(m.group(1)) if m else "?"


def profile_tables(rt, f1, f2, n1, n2, total, top=15):
    """Markdown: self cost by library, top functions by self cost, the runtime's own
    functions by inclusive cost (wrappers around the whole loop left out)."""
    out = []
    self_cost = callgrind_diff(f1, f2, n1, n2, False)
    by_obj = {}
    for k, v in self_cost.items():
        by_obj[obj_of(k)] = by_obj.get(obj_of(k), 0) + v
    pct = lambda v: 100 * v / total if total else 0
    out.append("\n%s loop under callgrind: instructions per invoke = (Ir at %d invokes − Ir at %d) / %d "
               "= **%s**.\n" % (rt, n2, n1, n2 - n1, fmt(total, 0)))
    out.append("Self cost by library: " + ", ".join(
        "%s %s (%.0f%%)" % (o, fmt(v, 0), pct(v)) for o, v in sorted(by_obj.items(), key=lambda kv: -kv[1])
        if pct(v) >= 0.5) + ".\n")
    out.append("Top %d functions by self cost (`callgrind_annotate --inclusive=no`, Δ):\n" % top)
    out += ["| Ir/invoke | % | function |", "|---:|---:|---|"]
    for fn, v in sorted(self_cost.items(), key=lambda kv: -kv[1])[:top]:
        out.append("| %s | %.1f%% | `%s` |" % (fmt(v, 0), pct(v), short_fn(fn)))
    incl = callgrind_diff(f1, f2, n1, n2, True)
    out.append("\nTop %d functions by inclusive cost (`--inclusive=yes`, Δ; those around the whole loop left out):\n"
               % top)
    out += ["| Ir/invoke | % | function |", "|---:|---:|---|"]
    rows = [(fn, v) for fn, v in incl.items() if pct(v) < 99.0]
    for fn, v in sorted(rows, key=lambda kv: -kv[1])[:top]:
        out.append("| %s | %.1f%% | `%s` |" % (fmt(v, 0), pct(v), short_fn(fn)))
    return out


def init_profile(path, total, exe_name):
    """Markdown: where host's cold start goes (exec to the first GET next): self cost by library,
    and the inclusive cost of host's own functions, of dynamic linking and of Py_InitializeFromConfig."""
    pct = lambda v: 100 * v / total if total else 0
    self_cost = annotate(path, False)
    by_obj = {}
    for k, v in self_cost.items():
        by_obj[obj_of(k)] = by_obj.get(obj_of(k), 0) + v
    out = ["\nhost cold start under callgrind (exec to the first GET next): **%s** instructions.\n" % fmt(total, 0),
           "Self cost by library: " + ", ".join(
               "%s %s (%.0f%%)" % (o, fmt(v, 0), pct(v)) for o, v in sorted(by_obj.items(), key=lambda kv: -kv[1])
               if pct(v) >= 0.5) + ".\n",
           "Inclusive cost of host's own functions, dynamic linking (`_dl_start`) and interpreter start-up:\n",
           "| Ir | % | function |", "|---:|---:|---|"]
    incl = annotate(path, True)
    keep = ("_dl_start", "Py_InitializeFromConfig", "PyImport_ImportModule", "curl_global_init", "curl_easy_init")
    rows = [(fn, v) for fn, v in incl.items()
            if not re.search(r"'\d+$", fn.split(" [")[0]) and not fn.split(" [")[0].endswith("(below main)")
            and (obj_of(fn) == exe_name or fn.split(" [")[0].rsplit(":", 1)[-1] in keep)]
    for fn, v in sorted(rows, key=lambda kv: -kv[1])[:25]:
        if pct(v) >= 0.2:
            out.append("| %s | %.1f%% | `%s` |" % (fmt(v, 0), pct(v), short_fn(fn)))
    return out


def import_profile(log_path, top=12):
    """Markdown: the top-level imports of a PYTHONPROFILEIMPORTTIME=1 start, by cumulative time."""
    rows = []
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
                if m and len(m.group(3)) <= 1:
                    rows.append((int(m.group(2)), m.group(4)))
    except OSError:
        return []
    if not rows:
        return ["\n(host ignored PYTHONPROFILEIMPORTTIME: no import profile.)"]
    total = sum(r[0] for r in rows)
    out = ["\nhost's imports before the first GET next (`PYTHONPROFILEIMPORTTIME=1`, one start, µs, "
           "inflated by the profiling; top-level imports only, %d in all = %s µs):\n" % (len(rows), fmt(total, 0)),
           "| cumulative µs | module |", "|---:|---|"]
    for us, name in sorted(rows, reverse=True)[:top]:
        out.append("| %s | `%s` |" % (fmt(us, 0), name))
    return out


# --------------------------------------------------------------------------- formatting

def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return "{:,.{}f}".format(v, digits)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "n/a" if r is None else "%.2f×" % r


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GB RAM" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return "%d cores (nproc), %s, %s, Linux %s" % (os.cpu_count() or 0, model, mem, platform.release())


def update_readme(text):
    """Puts `text` into README.md between its bench markers."""
    path = os.path.join(HERE, "README.md")
    with open(path) as f:
        readme = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in readme or end not in readme:
        sys.exit("README.md has no %s / %s markers" % (begin, end))
    pre, rest = readme.split(begin, 1)
    post = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(pre + begin + "\n" + text.strip() + "\n" + end + post)
    log("bench: README.md updated")


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--host", default=os.path.join(HERE, "..", "build", "host"))
    ap.add_argument("--host-layer", default="", metavar="ZIP",
                    help="measure host as deployed: the layer zip's bootstrap, unpacked "
                         "(its own libpython and stdlib), instead of --host")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--only", default="")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--update-readme", action="store_true", help="also put the table into README.md")
    ap.add_argument("--readme-from", metavar="RESULTS_MD", help="only put RESULTS_MD into README.md")
    args = ap.parse_args()
    if args.readme_from:
        with open(args.readme_from) as f:
            update_readme(f.read())
        return
    cfg = Config(args)
    t_begin = time.time()
    for d in ("logs", "callgrind"):
        shutil.rmtree(os.path.join(BUILD, d), ignore_errors=True)
        os.makedirs(os.path.join(BUILD, d))
    global RAW
    RAW = open(os.path.join(BUILD, "raw.jsonl"), "w")
    host_desc = ""
    layer_opt, layer_info = None, {}
    if args.host_layer and os.path.exists(args.host_layer):
        # host as Lambda runs it: the layer unpacked into an /opt-like folder, bootstrap
        # finding its own stdlib next to it (unzip keeps the file modes)
        opt = os.path.join(BUILD, "snap", "opt")
        shutil.rmtree(opt, ignore_errors=True)
        os.makedirs(opt)
        subprocess.run(["unzip", "-q", args.host_layer, "-d", opt], check=True)
        with open(os.path.join(opt, "bootstrap"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        manifest = os.path.splitext(args.host_layer)[0] + ".json"
        if os.path.exists(manifest):
            with open(manifest) as f:
                layer_info = json.load(f)
        host_desc = "host: the layer's bootstrap (%s unpacked, relocated home; CPython %s, libpython %s, built on glibc %s), sha256 %s" % (
            os.path.relpath(args.host_layer, os.path.join(HERE, "..")), layer_info.get("python", "?"),
            layer_info.get("libpython", "?"), layer_info.get("glibc", "?"), digest)
        cfg.host = os.path.join(opt, "bootstrap")
        layer_opt = opt
    elif cfg.host:
        # run a copy: the host binary may be rebuilt while the suite runs (no lib/ next to the copy,
        # so it uses the same libpython as build/host does)
        snap = os.path.join(BUILD, "snap", "host")
        os.makedirs(os.path.dirname(snap), exist_ok=True)
        shutil.copy2(cfg.host, snap)
        with open(snap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(cfg.host), datetime.timezone.utc)
        rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(cfg.host)), "describe", "--always",
                              "--dirty"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        host_desc = "host: %s built %s, sha256 %s%s" % (cfg.host, mtime.strftime("%Y-%m-%d %H:%M UTC"), digest,
                                                        ", tree " + rev if rev else "")
        cfg.host = snap
    runtimes = [rt for rt in RUNTIMES if cfg.runtime_cmd(rt)]
    if not cfg.host:
        log("bench: HOST_BIN %s not found: the host column is n/a" % args.host)
    py_version = subprocess.run([cfg.python, "-c", "import sys; print(sys.version.split()[0])"],
                                stdout=subprocess.PIPE, text=True).stdout.strip()

    # 1. the server's own ceiling, and the kernel's round trip under it
    log("bench: server ceiling")
    ceiling = {}
    for mode in ("lockstep", "coalesced", "pipelined"):
        runs = [run_server(["-n", str(cfg.ceiling_n), "-w", "1000", "--label", "ceiling-" + mode],
                           "floor_client", "ceiling-" + mode, "noop", [os.path.join(BUILD, "floor_client"), mode])
                for _ in range(cfg.ceiling_reps)]
        ok = [r for r in runs if r.get("ok")]
        ceiling[mode] = {k: median([r.get(k) for r in ok]) for k in
                         ("per_invoke_us", "server_cpu_us_per_invoke", "server_user_us_per_invoke")}
    rtts = []
    for _ in range(cfg.ceiling_reps):
        p = subprocess.run(PIN + [os.path.join(BUILD, "tcp_pingpong")], stdout=subprocess.PIPE,
                           text=True)
        rtts.append(json.loads(p.stdout)["rtt_us"])
    ceiling["rtt_us"] = median(rtts)
    record("tcp_pingpong", "kernel", {"rtt_us": rtts})

    # 2. the loop cases, interleaved across runtimes
    loops = {(c[0], rt): [] for c in cfg.cases for rt in runtimes}
    jruns = {c[0]: [] for c in cfg.cases}
    for rep in range(cfg.reps):
        # the in-process json cost, once a rep, so that it sees the same noise as the loops
        log("bench: rep %d/%d json in-process cost" % (rep + 1, cfg.reps))
        p = subprocess.run(PIN + [cfg.python, "-I", "-S", os.path.join(HERE, "json_cost.py"),
                            "--repeat", "3" if cfg.quick else "9"] + [c[1] for c in cfg.cases],
                           stdout=subprocess.PIPE, text=True, env=runtime_env("noop"))
        for line, case in zip(p.stdout.splitlines(), cfg.cases):
            jruns[case[0]].append(record("json_cost", "python", json.loads(line)))
        for case in cfg.cases:
            for rt in runtimes:
                log("bench: rep %d/%d %-8s %s" % (rep + 1, cfg.reps, case[0], rt))
                r = loop_case(cfg, rt, case)
                if not r.get("ok"):
                    log("bench:   FAILED: %s %s" % (r.get("reason"), r.get("first_error", "")[:300]))
                loops[(case[0], rt)].append(r)

    # 3. cold start (+ RSS after init), interpreter floors, bare RSS
    colds = {rt: [] for rt in list(runtimes) + ["host-cold-cache"]}
    sos = {rt: [] for rt in runtimes}   # shared objects mapped at the first next
    exits = {"pass": [], "import": [], "cexec": []}
    c_exec = [os.path.join(BUILD, "bare_rss")]   # a bare C program: exec to exit
    py_pass = [cfg.python, "-I", "-S", "-c", "pass"]
    py_import = [cfg.python, "-I", "-S", "-c", "import sys; sys.path.insert(0, %r); import noop" % HANDLERS]
    # one start at a time, round-robin over the runtimes and interpreter floors, so that a noisy
    # second hits them alike; blocks of cold_starts starts -> block medians -> median of blocks
    def block(runs, key, kb_key=None):
        ok = [r for r in runs if r.get("ok")]
        if len(ok) < len(runs):
            bad = [r for r in runs if not r.get("ok")][0]
            return {"ok": False, "reason": bad.get("reason"), "first_error": bad.get("first_error", "")}
        res = {"ok": True, "median_us": median([r[key] for r in ok])}
        if kb_key:
            res["vmhwm_init_kb_median"] = median([r[kb_key] for r in ok])
        return res

    for blk in range(cfg.cold_blocks):
        log("bench: cold starts, block %d/%d" % (blk + 1, cfg.cold_blocks))
        starts = {k: [] for k in list(runtimes) + ["pass", "import", "cexec", "cold-cache"]}
        for _ in range(cfg.cold_starts):
            for rt in runtimes:
                if starts[rt] and not starts[rt][-1].get("ok"):
                    continue  # a failing runtime fails once a block
                starts[rt].append(cold_case(cfg, rt))
            starts["pass"].append(exit_case(cfg, "py-pass", py_pass))
            starts["import"].append(exit_case(cfg, "py-import", py_import))
            starts["cexec"].append(exit_case(cfg, "c-exec", c_exec))
            if layer_opt and "host" in runtimes:
                starts["cold-cache"].append(cold_cache_case(cfg, "host", layer_opt))
        for rt in runtimes:
            colds[rt].append(block(starts[rt], "median_us", "vmhwm_init_kb_median"))
            sos[rt] += [r.get("shared_objects_init_median") for r in starts[rt] if r.get("ok")]
        for k in ("pass", "import", "cexec"):
            exits[k].append(block(starts[k], "median_us"))
        if starts["cold-cache"]:
            colds["host-cold-cache"].append(block(starts["cold-cache"], "median_us"))
    bare_c = median([self_rss([os.path.join(BUILD, "bare_rss")]) for _ in range(5)])
    bare_py = median([self_rss([cfg.python, "-I", "-S", "-c",
                                "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"])
                      for _ in range(5)])
    record("bare_rss", "c", {"vmhwm_kb": bare_c})
    record("bare_rss", "python", {"vmhwm_kb": bare_py})

    # 5. callgrind: per-invoke instructions, noop and API GW echo
    cg = {}  # (case, rt) -> {per_invoke, f1, f2}
    if cfg.callgrind:
        n1, n2 = cfg.cg_n
        for case in ("noop", "apigw"):
            for rt in runtimes:
                log("bench: callgrind %s %s (%d and %d invokes)" % (case, rt, n1, n2))
                a, b = callgrind_run(cfg, rt, n1, case), callgrind_run(cfg, rt, n2, case)
                if a.get("ir_total") and b.get("ir_total") and a.get("ok") and b.get("ok"):
                    per = (b["ir_total"] - a["ir_total"]) / (n2 - n1)
                    cg[(case, rt)] = {"per_invoke": per, "f1": a["file"], "f2": b["file"]}
                    record("callgrind", rt, {"case": case, "per_invoke": per, "n1": n1, "n2": n2,
                                             "ir1": a["ir_total"], "ir2": b["ir_total"]})
                else:
                    log("bench:   callgrind %s %s failed: %s / %s" % (case, rt, a.get("reason"), b.get("reason")))

    cgc = {}
    if cfg.callgrind:
        log("bench: callgrind cold starts")
        for rt in runtimes:
            r = callgrind_cold(cfg, rt, cfg.runtime_cmd(rt))
            if r.get("ir_total"):
                cgc[rt] = r
        for label, argv in (("py-pass", py_pass), ("py-import", py_import)):
            r = callgrind_cold(cfg, label, argv, exit_mode=True)
            if r.get("ir_total"):
                cgc[label] = r
        for k, r in cgc.items():
            record("callgrind_cold", k, {"ir_total": r["ir_total"]})

    # ----------------------------------------------------------------- figures
    def loop_med(case, rt, key="per_invoke_us"):
        runs = [r for r in loops.get((case, rt), []) if r.get("ok")]
        return median([r.get(key) for r in runs]) if runs else None

    def loop_fail(case, rt):
        runs = loops.get((case, rt), [])
        bad = [r for r in runs if not r.get("ok")]
        if runs and len(bad) == len(runs):
            return "FAIL: %s" % (bad[0].get("reason") or "?")
        return None

    def cold_med(rt, key):
        blocks = [r for r in colds.get(rt, []) if r.get("ok")]
        return median([r.get(key) for r in blocks]) if blocks else None

    def cell(case, rt, scale=1.0):
        if rt not in runtimes:
            return None
        v = loop_med(case, rt)
        return loop_fail(case, rt) if v is None else v * scale

    case_names = [c[0] for c in cfg.cases]
    rows = []  # (label, host, floor, plain, pyfloor, json, target_text, ratio_text, status)

    def add_row(label, vals, pyf=None, js=None, target=None, digits=None):
        h, f, pl = (vals.get(rt) for rt in RUNTIMES)
        num = lambda v: v if isinstance(v, (int, float)) else None
        tgt_text, tgt_ratio, status = "—", "", ""
        if target:
            limit, text, stretch = target
            if limit is not None and num(h) is not None:
                status = "MET" if num(h) <= limit else "OPEN"
                tgt_ratio = "%.2f× of limit" % (num(h) / limit)
                if stretch is not None:
                    status += " (stretch %s)" % ("met" if num(h) <= stretch else "open")
            else:
                status = "OPEN (no host figure)" if cfg.host is None or num(h) is None else "?"
            tgt_text = text
        rows.append([label, fmt(h, digits), fmt(f, digits), fmt(pl, digits), fmt(pyf, digits) if pyf is not None else "",
                     fmt(js, digits) if js is not None else "", fmt_ratio(ratio(num(h), num(f))),
                     fmt_ratio(ratio(num(h), num(pl))), tgt_text, tgt_ratio, status])

    jcost = {case: median([r["loads_dumps_us"] for r in runs]) for case, runs in jruns.items() if runs}
    js_ms = lambda case: jcost[case] / 1000 if case in jcost else None
    js_us = lambda case: jcost.get(case)

    if "noop" in case_names:
        n = cfg.cases[case_names.index("noop")][3]
        vals = {rt: cell("noop", rt) for rt in RUNTIMES}
        f = vals.get("floor") if isinstance(vals.get("floor"), float) else None
        add_row("noop handler, µs/invoke (%s invokes)" % fmt(n), vals, js=js_us("noop"),
                target=(NOOP_FLOOR_RATIO * f if f else None,
                        "≤ %.1f× floor = %s µs" % (NOOP_FLOOR_RATIO, fmt(NOOP_FLOOR_RATIO * f if f else None)), None))
        vals = {rt: (loop_med("noop", rt, "p50_us") if rt in runtimes else None) for rt in RUNTIMES}
        f = vals.get("floor")
        add_row("noop handler, p50 of per-invoke cycles, µs (information)", vals,
                target=(NOOP_FLOOR_RATIO * f if f else None,
                        "(≤ %.1f× floor p50 = %s µs)" % (NOOP_FLOOR_RATIO, fmt(NOOP_FLOOR_RATIO * f if f else None)), None))
        rows[-1][-1] = "(%s)" % rows[-1][-1] if rows[-1][-1] else ""
    if "apigw" in case_names:
        n = cfg.cases[case_names.index("apigw")][3]
        vals = {rt: cell("apigw", rt) for rt in RUNTIMES}
        add_row("API GW v2 echo (2 KB), µs/invoke (%s invokes)" % fmt(n), vals, js=js_us("apigw"))
    for case, label in (("echo1mb", "1 MB echo, ms/invoke"), ("echo5mb", "5 MB echo, ms/invoke")):
        if case in case_names:
            vals = {rt: cell(case, rt, 1e-3) for rt in RUNTIMES}
            j = js_ms(case)
            add_row(label, vals, js=j, target=(j, "≤ 1.0× json = %s ms (stretch ≤ 0.5×)" % fmt(j),
                                                  0.5 * j if j else None))
    py_pass_ms = median([r.get("median_us") for r in exits["pass"] if r.get("ok")])
    py_imp_ms = median([r.get("median_us") for r in exits["import"] if r.get("ok")])
    py_pass_ms = py_pass_ms / 1000 if py_pass_ms else None
    py_imp_ms = py_imp_ms / 1000 if py_imp_ms else None
    vals = {}
    for rt in RUNTIMES:
        v = cold_med(rt, "median_us") if rt in runtimes else None
        if v is None and rt in runtimes:
            bad = [r for r in colds[rt] if not r.get("ok")]
            vals[rt] = "FAIL: %s" % bad[0].get("reason") if bad else None
        else:
            vals[rt] = v / 1000 if v else None
    c_exec_ms = median([r.get("median_us") for r in exits["cexec"] if r.get("ok")])
    c_exec_ms = c_exec_ms / 1000 if c_exec_ms else None
    lim = c_exec_ms + py_pass_ms + COLD_MARGIN_MS if c_exec_ms and py_pass_ms else None
    add_row("cold start to 1st next, ms (median of %d×%d)" % (cfg.cold_blocks, cfg.cold_starts), vals,
            pyf="%s / %s" % (fmt(py_pass_ms), fmt(py_imp_ms)),
            target=(lim, "≤ C exec + `-c pass` + %g = %s ms" % (COLD_MARGIN_MS, fmt(lim)), None))
    cc = median([r.get("median_us") for r in colds["host-cold-cache"] if r.get("ok")])
    if cc or colds["host-cold-cache"]:
        add_row("cold start to 1st next, layer's files not in the page cache, ms", {"host": cc / 1000 if cc else "FAIL"})
    so_vals = {rt: median(sos[rt]) for rt in runtimes if sos[rt]}
    if so_vals:
        add_row("shared objects mapped at 1st next", so_vals,
                target=(MAX_SHARED_OBJECTS, "≤ %d" % MAX_SHARED_OBJECTS, None), digits=0)
    if layer_info.get("zipped_bytes"):
        add_row("layer size, MB zipped / unzipped (information)",
                {"host": "%.1f / %.1f" % (layer_info["zipped_bytes"] / 1e6, layer_info["unzipped_bytes"] / 1e6)})
    vals = {}
    for rt in RUNTIMES:
        v = cold_med(rt, "vmhwm_init_kb_median") if rt in runtimes else None
        vals[rt] = v / 1024 if v else ("FAIL" if rt in runtimes and rt in colds and colds[rt] else None)
    add_row("peak RSS after init (VmHWM at 1st next), MB", vals, pyf=bare_py / 1024,
            target=(MAX_RSS_INIT_MB, "≤ %g MB" % MAX_RSS_INIT_MB, None), digits=1)
    for case, label in (("noop", "peak RSS after the noop loop, MB"), ("echo5mb", "peak RSS after 5 MB echoes, MB")):
        if case in case_names:
            vals = {rt: (loop_med(case, rt, "vmhwm_kb") / 1024 if loop_med(case, rt, "vmhwm_kb") else None)
                    for rt in runtimes}
            add_row(label, vals, digits=1)
    for case, label in (("noop", "noop"), ("apigw", "API GW v2 echo")):
        vals = {rt: cg[(case, rt)]["per_invoke"] for rt in RUNTIMES if (case, rt) in cg}
        if vals:
            add_row("callgrind instructions/invoke, %s (Δ of %d and %d invokes)" % ((label,) + cfg.cg_n), vals,
                    digits=0)

    if cgc:
        vals = {rt: cgc[rt]["ir_total"] / 1e6 for rt in RUNTIMES if rt in cgc}
        pyf = "%s / %s" % (fmt(cgc["py-pass"]["ir_total"] / 1e6 if "py-pass" in cgc else None, 1),
                           fmt(cgc["py-import"]["ir_total"] / 1e6 if "py-import" in cgc else None, 1))
        lim = (cgc["floor"]["ir_total"] + cgc["py-import"]["ir_total"]) / 1e6 \
            if "floor" in cgc and "py-import" in cgc else None
        add_row("cold start, callgrind instructions to 1st next, millions", vals, pyf=pyf,
                target=(lim, "(≤ floor + `import noop` = %s M)" % fmt(lim, 1), None), digits=1)
        rows[-1][-1] = "(%s)" % rows[-1][-1] if rows[-1][-1] else ""

    header = ["case", "host", "C floor", "plain Python", "python -I -S", "json in-proc", "host÷floor",
              "host÷plain", "target", "host vs target", "status"]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in rows]

    notes = []
    notes.append("Medians of %d runs per case (interleaved across runtimes); cold start: median of %d blocks of %d "
                 "starts each (one start at a time, round-robin over the runtimes); everything pinned to CPU %s (server and runtime on one core), nice %s."
                 % (cfg.reps, cfg.cold_blocks, cfg.cold_starts, CPU, NICE))
    notes.append("`python -I -S` column: cold-start row = `python3 -I -S -c pass` / `-c 'import noop'` (spawn to "
                 "exit); RSS row = a bare `python3 -I -S` process's VmHWM (bare C process: %.1f MB). A bare C "
                 "exec (spawn to exit): %s ms." % (bare_c / 1024, fmt(c_exec_ms)))
    if colds["host-cold-cache"]:
        notes.append("Cold page cache: before each of those starts every file of the unpacked layer is dropped "
                     "from the page cache with posix_fadvise(DONTNEED) (glibc and the rest of the machine stay "
                     "cached; `echo 3 > drop_caches` would empty the cache of everyone on this shared machine).")
    notes.append("`json in-proc`: CPython %s `json.loads(bytes)` + `json.dumps(obj)` on the same payload, in one "
                 "process, no I/O (µs for small events, ms for the large ones)." % py_version)
    c = ceiling
    notes.append("Server ceiling (same core, raw-socket client, noop): lockstep %s µs/pair (%s pairs/s), "
                 "coalesced POST+GET %s µs/pair (%s/s), pipelined 64 deep %s µs/pair (**%s pairs/s**); "
                 "server CPU %s µs/pair pipelined, of which user %s µs. Kernel TCP loopback round trip on one core: "
                 "%s µs (an invoke needs two)." % (
                     fmt(c["lockstep"]["per_invoke_us"]), fmt(1e6 / c["lockstep"]["per_invoke_us"]) if c["lockstep"]["per_invoke_us"] else "?",
                     fmt(c["coalesced"]["per_invoke_us"]), fmt(1e6 / c["coalesced"]["per_invoke_us"]) if c["coalesced"]["per_invoke_us"] else "?",
                     fmt(c["pipelined"]["per_invoke_us"]), fmt(1e6 / c["pipelined"]["per_invoke_us"]) if c["pipelined"]["per_invoke_us"] else "?",
                     fmt(c["pipelined"]["server_cpu_us_per_invoke"]), fmt(c["pipelined"]["server_user_us_per_invoke"]),
                     fmt(c["rtt_us"])))
    srv = {rt: loop_med("noop", rt, "server_cpu_us_per_invoke") for rt in runtimes} if "noop" in case_names else {}
    if srv:
        notes.append("Server CPU inside the noop figures (same core, so included in each): " + ", ".join(
            "%s %s µs" % (TITLES[rt], fmt(v)) for rt, v in srv.items()) + ".")
    p50 = {rt: (loop_med("noop", rt, "p50_us"), loop_med("noop", rt, "p99_us")) for rt in runtimes} \
        if "noop" in case_names else {}
    if p50:
        notes.append("noop per-invoke p50 / p99: " + ", ".join(
            "%s %s / %s µs" % (TITLES[rt], fmt(a), fmt(b)) for rt, (a, b) in p50.items()) + ".")
    if not cfg.host:
        notes.append("host binary not found (%s): its column is n/a." % args.host)

    detail = ["| case | runtime | runs (per-invoke µs, or cold ms) |", "|---|---|---|"]
    for (case, rt), runs in loops.items():
        detail.append("| %s | %s | %s |" % (case, TITLES[rt], ", ".join(
            fmt(r.get("per_invoke_us")) if r.get("ok") else "FAIL(%s)" % r.get("reason") for r in runs)))
    for case, runs in jruns.items():
        detail.append("| %s | json in-proc | %s |" % (case, ", ".join(fmt(r["loads_dumps_us"]) for r in runs)))
    for rt in runtimes:
        detail.append("| cold | %s | %s |" % (TITLES[rt], ", ".join(
            fmt(r.get("median_us") / 1000) if r.get("ok") else "FAIL(%s)" % r.get("reason") for r in colds[rt])))

    profile = []
    n1, n2 = cfg.cg_n
    for case, rt in (("noop", "host"), ("apigw", "host"), ("noop", "floor")):
        if (case, rt) in cg:
            c = cg[(case, rt)]
            profile += profile_tables("%s, %s" % (TITLES[rt], case), c["f1"], c["f2"], n1, n2, c["per_invoke"])

    if "host" in cgc:
        profile += init_profile(cgc["host"]["file"], cgc["host"]["ir_total"], os.path.basename(cfg.host))
    if cfg.host:
        imp_log = os.path.join(BUILD, "logs", "host-importtime.log")
        env = runtime_env("noop")
        env["PYTHONPROFILEIMPORTTIME"] = "1"
        subprocess.run(PIN + [SERVER, "--event", os.path.join(EVENTS, "small.json"), "--cold", "1", "--cwd",
                              HANDLERS, "--log", imp_log, "--", cfg.host], env=env, stdout=subprocess.DEVNULL)
        profile += import_profile(imp_log)

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = "Benchmark results%s: %s" % (" (BENCH_QUICK smoke run)" if cfg.quick else "", date)
    out = ["### " + title, "", "Machine: " + machine_info() + "; CPython " + py_version + "." +
           (" " + host_desc + "." if host_desc else ""), ""]
    out += md + [""] + ["- " + n for n in notes] + [""]
    full = out + ["<details><summary>every run</summary>", ""] + detail + ["", "</details>"] + profile + [""]
    text = "\n".join(full)
    with open(os.path.join(BUILD, "results.md"), "w") as f:
        f.write(text)
    print("\n".join(out))
    if profile:
        print("\n".join(profile))
    log("bench: done in %.0f s; results in %s" % (time.time() - t_begin, os.path.join(BUILD, "results.md")))

    if args.update_readme:
        update_readme(text)

if __name__ == "__main__":
    main()
