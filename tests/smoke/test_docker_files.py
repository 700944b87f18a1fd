"""The Docker path cannot run here (no Docker engine on our build machines), so its files are
checked for what can be checked without one: the Dockerfile parses into known instructions, its
stages and ARGs are defined before use, every file it COPYs exists (including what the Makefile
includes), the stage names and artifact names agree with layer/build-docker.sh,
scripts/docker_smoke.sh and template.yaml, the smoke image's handlers resolve, and every shell
script parses (bash -n).
"""
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
SCRIPTS = [ROOT / "layer" / name for name in ("build-docker.sh", "build.sh", "build-inside.sh",
                                              "buildroot.sh", "sources.sh", "inroot.sh")] \
    + [ROOT / "scripts" / "docker_smoke.sh"]


def parse_dockerfile(text):
    """[(INSTRUCTION, args)] with line continuations joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue    # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        word, _, args = cur.strip().partition(" ")
        out.append((word.upper(), args.strip()))
        cur = ""
    assert not cur, "the Dockerfile ends inside a continued line"
    return out


def stages():
    """{stage name: [(INSTRUCTION, args)]} and the ARGs declared before the first FROM."""
    result, global_args, current = {}, {}, None
    for word, args in parse_dockerfile(DOCKERFILE.read_text()):
        assert word in INSTRUCTIONS, f"unknown instruction {word}"
        if word == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            assert m, args
            current = m.group(2) or f"stage{len(result)}"
            result[current] = [(word, args)]
        elif current is None:
            assert word == "ARG", f"{word} before the first FROM"
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            result[current].append((word, args))
    return result, global_args


def test_dockerfile_stages_and_args():
    st, global_args = stages()
    assert list(st) == ["build", "artifacts", "smoke"]
    assert global_args["BASE_IMAGE"] == "public.ecr.aws/lambda/provided:al2023"
    for name, instrs in st.items():
        base = instrs[0][1].split()[0]
        for var in re.findall(r"\$\{?(\w+)", base):
            assert var in global_args, f"stage {name}: FROM uses undeclared ARG {var}"
        declared = {a.partition("=")[0] for w, a in instrs if w == "ARG"}
        for word, args in instrs[1:]:
            if word == "COPY" and "--from=" in args:
                src = re.search(r"--from=(\S+)", args).group(1)
                assert src in st and list(st).index(src) < list(st).index(name), src
            if word == "RUN":
                for var in re.findall(r"\$\{(\w+)\}", args):
                    assert var in declared, f"stage {name}: RUN uses ${{{var}}}, not an ARG here"


def test_every_copied_file_exists_and_make_has_what_it_includes():
    st, _ = stages()
    copied = []
    for name, instrs in st.items():
        for word, args in instrs:
            if word == "COPY" and "--from=" not in args:
                *srcs, _dest = args.split()
                for src in srcs:
                    assert src.startswith("build/src") or (ROOT / src).exists(), \
                        f"COPY {src}: not in the repository"
                    copied.append(src.rstrip("/"))
    makefile = (ROOT / "Makefile").read_text()
    # "-include $(wildcard $(BUILD)/...)" reads dependency files the build itself writes
    for inc in re.findall(r"^-?include\s+(?!\$\(wildcard \$\(BUILD\))(\S+)", makefile, re.M):
        assert any(inc == c or inc.startswith(c + "/") for c in copied), \
            f"the Makefile includes {inc}, which the build stage does not COPY"
    # .dockerignore: later lines win, `!` re-includes (build/src's tarballs inside the ignored build/).
    rules = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    for src in copied:
        if src.startswith("build/src"):
            continue    # filled by layer/sources.sh before `docker build`; not in the repository
        excluded = None
        for rule in rules:
            pat = rule.lstrip("!")
            if src == pat or src.startswith(pat + "/"):
                excluded = None if rule.startswith("!") else rule
        assert not excluded, f"COPY {src} is excluded from the build context by .dockerignore ({excluded})"
    assert "!build/src/*.orig.tar.*" in rules
    # What the layer build reads must be in the image before it runs.
    for needed in ("Makefile", "host", "scripts", "layer", "pyhandlers"):
        assert needed in copied, needed


def test_build_stage_builds_checks_and_unpacks_the_layer():
    st, _ = stages()
    runs = " ".join(a for w, a in st["build"] if w == "RUN")
    # the same script as `make layer`, with the same glibc limit
    assert "bash layer/build-inside.sh" in runs and "GLIBC_MAX=2.34" in runs
    assert "PYTHON_TAR=${PYTHON_TAR}" in runs
    # the unpacked layer runs on its own before anything leaves the build stage
    assert "env -i PATH=/usr/bin:/bin /unpacked/opt/bootstrap --local" in runs
    # what layer/buildroot.sh installs in the Debian root, under AL2023's names
    for pkg in ("gcc", "make", "perl", "libffi-devel", "zlib-devel", "bzip2-devel", "xz-devel",
                "sqlite-devel", "libuuid-devel", "jansson-devel"):
        assert re.search(rf"\s{re.escape(pkg)}\s", runs), pkg
    artifacts = st["artifacts"]
    assert artifacts[0][1].split()[0] == "scratch"
    assert ("COPY", "--from=build /src/dist/ /") in artifacts


def test_smoke_stage_puts_the_layer_at_opt_and_its_handlers_resolve():
    st, _ = stages()
    smoke = st["smoke"]
    assert smoke[0][1].startswith("${BASE_IMAGE}")
    assert ("COPY", "--from=build /unpacked/opt/ /opt/") in smoke
    assert ("COPY", "--from=build /unpacked/task/ /var/task/") in smoke
    run = " ".join(a for w, a in smoke if w == "RUN")
    assert "ln -sf /opt/bootstrap /var/runtime/bootstrap" in run
    cmd = json.loads(next(a for w, a in smoke if w == "CMD"))
    handlers = set(cmd) | set(re.findall(r"^start (\S+)", (ROOT / "scripts" / "docker_smoke.sh")
                                         .read_text(), re.M))
    assert handlers >= {"hello.lambda_handler", "probe.handler", "store.handler"}
    task = {"hello": ROOT / "pyhandlers" / "hello.py", "store": ROOT / "pyhandlers" / "store.py",
            "probe": ROOT / "tests" / "smoke" / "probe.py"}
    for h in handlers:
        module, _, fn = h.rpartition(".")
        assert re.search(rf"^(def {fn}\(|{fn} = )", task[module].read_text(), re.M), h


def test_scripts_agree_on_names():
    build_docker = (ROOT / "layer" / "build-docker.sh").read_text()
    assert "--target artifacts" in build_docker
    assert "host-layer.zip" in build_docker
    smoke = (ROOT / "scripts" / "docker_smoke.sh").read_text()
    assert "--target smoke" in smoke
    assert "2015-03-31/functions/function/invocations" in smoke
    assert ":8080" in smoke
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^layer-docker:.*\n\t.*bash layer/build-docker.sh", makefile, re.M)
    assert re.search(r"^layer:.*\n(\t.*\n)*\t.*bash layer/build.sh", makefile, re.M)


def test_shell_scripts_parse():
    for script in SCRIPTS:
        res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert res.returncode == 0, f"{script}: {res.stderr}"
        assert script.read_text().startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in script.read_text()
