"""`host local invoke`: the SAM template reader (Globals, Handler, CodeUri, Timeout, MemorySize,
Environment with !Ref/!Sub/!GetAtt/!If, --parameter-overrides, --env-vars, local layers),
the virtualenv and system-packages rules, and SAM's flags."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PY_XY = "%d.%d" % sys.version_info[:2]

HANDLER = '''
import os, sys
def handler(event, context):
    return {"event": event, "name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "remaining_ok": context.get_remaining_time_in_millis() > 0,
            "env": {k: os.environ.get(k) for k in ("GREETING", "TABLE", "ARN", "MODE", "REGION_SUB",
                                                   "AWS_REGION", "AWS_PROFILE", "AWS_SAM_LOCAL")}}
def sleeper(event, context):
    import time
    time.sleep(5)
def imports(event, context):
    out = {}
    for name in event["modules"]:
        try:
            m = __import__(name)
            out[name] = getattr(m, "WHERE", "yes")
        except ImportError as e:
            out[name] = "ImportError"
    return {"imports": out, "path": sys.path}
'''

TEMPLATE = '''
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Greeting:
    Type: String
    Default: hello
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 7
    MemorySize: 256
    Runtime: python3.11
    Environment:
      Variables:
        GREETING: !Ref Greeting
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      MemorySize: 512
      Layers: [!Ref Deps]
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Table.Arn
          MODE: !If [IsProd, production, development]
          REGION_SUB: !Sub "${AWS::Region}-${Stage}"
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.sleeper
      Timeout: 1
  Imports:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.imports
      Layers: [!Ref Deps]
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    site = tmp_path / "layer" / "python"
    site.mkdir(parents=True)
    (site / "layermod.py").write_text("WHERE = 'layer'\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


def invoke(host_bin, cwd, *args, stdin=None, env=None, timeout=30):
    return subprocess.run([host_bin, "local", "invoke", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env)


def result(p):
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_template_values_reach_the_function(host_bin, project):
    (project / "ev.json").write_text('{"k": 1}')
    r = result(invoke(host_bin, project, "Fn", "-e", "ev.json", "--region", "eu-west-1",
                      "--profile", "dev-profile"))
    assert r["event"] == {"k": 1}
    assert r["name"] == "Fn"
    assert r["memory"] == "512"                     # the function's own MemorySize beats Globals
    env = r["env"]
    assert env["GREETING"] == "hello"               # Globals' Environment, !Ref to a parameter
    assert env["TABLE"] == "Table"                  # !Ref to a resource: its logical id
    assert env["ARN"].startswith("arn:aws:") and env["ARN"].endswith(":Table")
    assert env["MODE"] == "development"             # !If on a condition
    assert env["REGION_SUB"] == "eu-west-1-dev"     # !Sub with a pseudo parameter
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_PROFILE"] == "dev-profile"
    assert env["AWS_SAM_LOCAL"] == "true"


def test_parameter_overrides_and_env_vars(host_bin, project):
    (project / "env.json").write_text(json.dumps(
        {"Parameters": {"GREETING": "from-parameters"}, "Fn": {"TABLE": "t-local", "UNDECLARED": "x"}}))
    r = result(invoke(host_bin, project, "Fn", "--parameter-overrides", "Stage=prod",
                      "ParameterKey=Greeting,ParameterValue=hi", "--env-vars", "env.json"))
    env = r["env"]
    assert env["MODE"] == "production"
    assert env["REGION_SUB"].endswith("-prod")
    assert env["GREETING"] == "from-parameters"    # --env-vars wins over the template
    assert env["TABLE"] == "t-local"


def test_event_from_stdin_and_default_empty_event(host_bin, project):
    assert result(invoke(host_bin, project, "Fn", "-e", "-", stdin='{"from": "stdin"}'))["event"] == {"from": "stdin"}
    assert result(invoke(host_bin, project, "Fn"))["event"] == {}


def test_function_id_needed_when_several(host_bin, project):
    p = invoke(host_bin, project)
    assert p.returncode == 2
    assert "name one: Fn Slow Imports" in p.stderr


def test_template_timeout_is_enforced(host_bin, project):
    p = invoke(host_bin, project, "Slow")
    assert p.returncode == 1
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    assert doc["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in doc["errorMessage"]


def test_layer_venv_pth_and_no_system_packages(host_bin, project):
    venv = project / "src" / ".venv" / "lib" / ("python" + PY_XY) / "site-packages"
    venv.mkdir(parents=True)
    (venv / "venvmod.py").write_text("WHERE = 'venv'\n")
    extra = project / "extra"
    extra.mkdir()
    (extra / "pthmod.py").write_text("WHERE = 'pth'\n")
    (venv / "extra.pth").write_text(str(extra) + "\n")
    ev = project / "mods.json"
    ev.write_text(json.dumps({"modules": ["layermod", "venvmod", "pthmod", "yaml"]}))
    r = result(invoke(host_bin, project, "Imports", "-e", str(ev)))
    assert r["imports"] == {"layermod": "layer", "venvmod": "venv", "pthmod": "pth",
                            "yaml": "ImportError"}   # Debian's python3-yaml is not on Lambda
    path = r["path"]
    assert path.index(str(project / "src")) < path.index(str(project / "layer" / "python")) \
        < path.index(str(venv))
    r = result(invoke(host_bin, project, "Imports", "-e", str(ev), "--system-packages"))
    assert r["imports"]["yaml"] == "yes"


def test_venv_of_another_python_is_refused(host_bin, project):
    other = project / "venv2" / "lib" / "python3.1" / "site-packages"
    other.mkdir(parents=True)
    p = invoke(host_bin, project, "Fn", "--venv", str(project / "venv2"))
    assert p.returncode == 2
    assert "is for python3.1" in p.stderr


def test_unsupported_intrinsic_names_the_line(host_bin, project):
    t = project / "bad.yaml"
    t.write_text(TEMPLATE.replace("TABLE: !Ref Table", "TABLE: !ImportValue shared-table"))
    p = invoke(host_bin, project, "Fn", "-t", str(t))
    assert p.returncode == 2
    line = next(i for i, l in enumerate(t.read_text().splitlines(), 1) if "ImportValue" in l)
    assert f"bad.yaml:{line}: Fn::ImportValue is not supported" in p.stderr


def test_unknown_parameter_and_sam_only_flags(host_bin, project):
    p = invoke(host_bin, project, "Fn", "--parameter-overrides", "Nope=1")
    assert p.returncode == 2 and "Nope, which is not a parameter" in p.stderr
    p = invoke(host_bin, project, "Fn", "--docker-network", "x")
    assert p.returncode == 2 and "--docker-network is not supported by host local" in p.stderr


def test_repository_template_hello_and_store(host_bin):
    r = result(invoke(host_bin, REPO, "HelloFunction", "-e", "pyhandlers/events/hello.json"))
    assert json.loads(r["body"]) == {"message": "Hello, Ada!"}
    p = invoke(host_bin, REPO, "StoreFunction", "-e", "pyhandlers/events/products.json",
               "--env-vars", "pyhandlers/local-env.json")
    r = result(p)
    assert r["statusCode"] == 200 and "products" in json.loads(r["body"])
    assert "Memory Size: 512 MB" in p.stderr        # Globals' MemorySize


def test_venv_flag_and_active_virtual_env(host_bin, project):
    import os
    for name, where in (("flagvenv", "flag"), ("activevenv", "active")):
        sp = project / name / "lib" / ("python" + PY_XY) / "site-packages"
        sp.mkdir(parents=True)
        (sp / "which.py").write_text("WHERE = %r\n" % where)
    ev = project / "m.json"
    ev.write_text(json.dumps({"modules": ["which"]}))
    env = dict(os.environ, VIRTUAL_ENV=str(project / "activevenv"))
    assert result(invoke(host_bin, project, "Imports", "-e", str(ev), env=env))["imports"] == {"which": "active"}
    r = result(invoke(host_bin, project, "Imports", "-e", str(ev), "--venv", str(project / "flagvenv"), env=env))
    assert r["imports"] == {"which": "flag"}     # --venv wins over VIRTUAL_ENV


def test_zip_code_uri_is_unpacked(host_bin, tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "fn.zip", "w") as z:
        z.writestr("zipped.py", "def handler(e, c):\n    return {'from': 'zip', 'file': __file__}\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: fn.zip\n      Handler: zipped.handler\n      Runtime: python3.11\n")
    env = dict(__import__("os").environ, TMPDIR=str(tmp_path))
    r = result(invoke(host_bin, tmp_path, env=env))
    assert r["from"] == "zip" and r["file"].startswith(str(tmp_path / ("host-local-")))
    (tmp_path / "missing.yaml").write_text((tmp_path / "template.yaml").read_text().replace("fn.zip", "no.zip"))
    p = invoke(host_bin, tmp_path, "-t", "missing.yaml")
    assert p.returncode == 2 and "missing.yaml:5:" in p.stderr and "does not exist" in p.stderr


def test_log_file_and_sam_flags_host_does_not_implement(host_bin, project):
    log = project / "out.log"
    r = result(invoke(host_bin, project, "Fn", "-l", str(log)))
    assert r["name"] == "Fn"
    assert "REPORT RequestId: " in log.read_text()
    p = invoke(host_bin, project, "Fn", "--static-dir", "public")
    assert p.returncode == 2 and "SAM's --static-dir is not supported by host local" in p.stderr
