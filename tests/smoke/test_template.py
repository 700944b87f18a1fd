"""Checks template.yaml (AWS SAM) without AWS: it parses; every !Ref, !GetAtt, !Sub and DependsOn
resolves to a parameter or resource; each function's CodeUri is a zip that `make layer`
builds and its Handler names a function defined in it; the HTTP API's routes are exactly the
store's routes (read from pyhandlers/shop/routes.py); the IAM policies grant nothing on "*" and
only the DynamoDB calls the store makes, on its table, and ssm:GetParameter on its parameter;
the token secret is not in the functions' environment. cfn-lint (with the SAM transform) runs
too where it is installed.
"""
import ast
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="python3-yaml is needed to read template.yaml")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
DEFAULT_PYTHON = (ROOT / "layer" / "python-version").read_text().strip()
PSEUDO = {"AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
ROUTES_PY = ROOT / "pyhandlers" / "shop" / "routes.py"
DYNAMO_PY = ROOT / "pyhandlers" / "shop" / "storage" / "dynamo_store.py"
# DynamoDB calls the store makes only when it creates its own table (shop.setup, or
# STORE_CREATE_TABLE=1 in a local run); the deployed functions do not get them: the stack makes
# the table.
SETUP_ONLY_CALLS = {"create_table", "delete_table", "describe_table"}


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...) as their long forms."""


def _tag(tag, kind):
    fn = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {fn: value}
    CfnLoader.add_constructor(f"!{tag}", construct)


for _t in ("Ref", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select",
           "Split", "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr", "Condition"):
    _tag(_t, None)


@pytest.fixture(scope="module")
def tpl():
    with open(TEMPLATE) as f:
        return yaml.load(f, Loader=CfnLoader)


def walk(node, path=()):
    """Yields (path, node) for every dict and list item in the document."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def references(doc):
    """(where, name) for every Ref, GetAtt, Sub variable and DependsOn in doc."""
    for path, node in walk(doc):
        if not isinstance(node, dict):
            continue
        where = "/".join(map(str, path))
        if "Ref" in node:
            yield where, node["Ref"]
        if "Fn::GetAtt" in node:
            yield where, node["Fn::GetAtt"][0]
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, names = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            for var in re.findall(r"\$\{([^}!][^}]*)\}", text):
                var = var.split(".", 1)[0]
                if var not in names:
                    yield where, var
        if "DependsOn" in node and path and path[0] == "Resources":
            deps = node["DependsOn"]
            for d in [deps] if isinstance(deps, str) else deps:
                yield where, d


def functions(tpl):
    return {name: r for name, r in tpl["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def prop(tpl, fn, key):
    """A function property, falling back to Globals.Function (SAM appends a function's Layers
    to the Globals' list)."""
    value = fn["Properties"].get(key)
    default = tpl.get("Globals", {}).get("Function", {}).get(key)
    if key == "Layers":
        return (default or []) + (value or [])
    return default if value is None else value


def test_template_is_sam_and_every_reference_resolves(tpl):
    assert tpl["Transform"] == "AWS::Serverless-2016-10-31"
    known = set(tpl.get("Parameters", {})) | set(tpl["Resources"]) | PSEUDO
    # SAM makes an AWS::Lambda::Url named <function>Url for a function's FunctionUrlConfig.
    known |= {name + "Url" for name, fn in functions(tpl).items()
              if "FunctionUrlConfig" in fn["Properties"]}
    refs = list(references(tpl))
    assert len(refs) > 10
    unknown = [(where, name) for where, name in refs if name not in known]
    assert not unknown, f"references to nothing: {unknown}"
    for where, name in refs:   # every GetAtt names a resource, not a parameter
        assert not (where.endswith("Fn::GetAtt") and name in tpl.get("Parameters", {}))


def test_unused_parameters_and_resources_are_none(tpl):
    used = {name for _, name in references(tpl)}
    assert set(tpl.get("Parameters", {})) <= used
    for name, res in tpl["Resources"].items():
        if res["Type"] in ("AWS::Serverless::Function",):
            continue   # reached through the API's routes
        assert name in used, f"{name} is defined but nothing uses it"


def _function_zip(code_uri):
    path = ROOT / code_uri
    if not path.exists():
        msg = f"{code_uri} is missing: run `make layer` first"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


def _defines(source, name):
    """True if module source defines `name` at top level (def, class or assignment)."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    return False


def test_every_function_handler_resolves_in_its_zip(tpl):
    manifest = (ROOT / "layer" / "functions.txt").read_text()
    built = {line.split(":")[0].strip() for line in manifest.splitlines()
             if line.strip() and not line.startswith("#")}
    fns = functions(tpl)
    assert fns
    for name, fn in fns.items():
        code_uri = fn["Properties"]["CodeUri"]
        m = re.fullmatch(rf"dist/python{DEFAULT_PYTHON}/functions/(\w+)\.zip", code_uri)
        assert m and m.group(1) in built, f"{name}: CodeUri {code_uri} is not a zip layer/ builds"
        handler = fn["Properties"]["Handler"]
        module, _, attr = handler.rpartition(".")
        assert module and attr, handler
        with zipfile.ZipFile(_function_zip(code_uri)) as z:
            names = set(z.namelist())
            base = module.replace(".", "/").replace("//", "/")
            src = next((f for f in (f"{base}.py", f"{base}/__init__.py") if f in names), None)
            assert src, f"{name}: {handler}: no {base}.py in {code_uri}"
            assert _defines(z.read(src).decode(), attr), f"{name}: {attr} is not defined in {src}"
        assert prop(tpl, fn, "Runtime") == "provided.al2023"
        assert {"Ref": "HostLayer"} in prop(tpl, fn, "Layers")


def test_layer_is_the_al2023_build(tpl):
    layer = tpl["Resources"]["HostLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    props = layer["Properties"]
    # The zip `make layer` (and `make layer-docker`) writes for the default Python version.
    assert props["ContentUri"] == f"dist/python{DEFAULT_PYTHON}/host-layer.zip"
    assert "--name host-layer " in (ROOT / "layer" / "build-inside.sh").read_text()
    assert f"CPython {DEFAULT_PYTHON}" in props["Description"]
    assert "provided.al2023" in props["CompatibleRuntimes"]
    arch = tpl["Globals"]["Function"]["Architectures"]
    assert arch == props["CompatibleArchitectures"] == ["x86_64"]
    assert "linux/amd64" in (ROOT / "layer" / "build-docker.sh").read_text()


def test_store_gets_boto3_from_a_layer_of_its_own(tpl):
    """host's layer carries no packages; the store's DynamoDB backend imports boto3, so the store
    (and only the store) gets the boto3 layer, whose folder has python/ at its root."""
    assert "import boto3" in DYNAMO_PY.read_text()
    boto = tpl["Resources"]["Boto3Layer"]
    assert boto["Type"] == "AWS::Serverless::LayerVersion"
    assert boto["Properties"]["ContentUri"] == "build/boto3-layer"
    assert "--target build/boto3-layer/python boto3" in TEMPLATE.read_text()
    layers = {name: prop(tpl, fn, "Layers") for name, fn in functions(tpl).items()}
    assert layers["StoreFunction"] == [{"Ref": "HostLayer"}, {"Ref": "Boto3Layer"}]
    assert layers["HelloFunction"] == [{"Ref": "HostLayer"}]


def store_routes():
    """(METHOD, /path/{}) for every route in the store's router."""
    text = ROUTES_PY.read_text()
    routes = re.findall(r'@router\.route\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"', text)
    assert routes, f"no @router.route(...) found in {ROUTES_PY}"
    return {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in routes}


def test_http_api_routes_are_the_stores_routes(tpl):
    api = tpl["Resources"]["StoreApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    store = tpl["Resources"]["StoreFunction"]
    events = store["Properties"]["Events"].values()
    assert all(e["Type"] == "HttpApi" and e["Properties"]["ApiId"] == {"Ref": "StoreApi"}
               for e in events)
    routes = [(e["Properties"]["Method"], re.sub(r"\{[^}]+\}", "{}", e["Properties"]["Path"]))
              for e in events]
    assert len(routes) == len(set(routes)), "a route is declared twice"
    assert set(routes) == store_routes()
    # Path parameters carry the router's names (the store reads rawPath, but the names document it).
    for e in events:
        for p in re.findall(r"\{[^}]+\}", e["Properties"]["Path"]):
            assert p in ROUTES_PY.read_text()
    # No other function answers on one of the store's routes.
    for name, fn in functions(tpl).items():
        if name == "StoreFunction":
            continue
        for e in fn["Properties"].get("Events", {}).values():
            key = (e["Properties"]["Method"], e["Properties"]["Path"])
            assert key not in set(routes), (name, key)


def store_dynamodb_actions():
    calls = set(re.findall(r"self\.client\.([a-z_]+)\(", DYNAMO_PY.read_text()))
    assert calls, DYNAMO_PY
    return {"dynamodb:" + "".join(w.capitalize() for w in c.split("_"))
            for c in calls - SETUP_ONLY_CALLS}


def role_statements(tpl, role_name):
    role = tpl["Resources"][role_name]
    assert role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]
    assert not props.get("ManagedPolicyArns"), f"{role_name}: managed policies grant on '*'"
    principal = props["AssumeRolePolicyDocument"]["Statement"]
    assert principal == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}]
    out = []
    for policy in props["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out.append((st["Effect"], actions, resources))
    return out


def test_iam_is_least_privilege(tpl):
    params = tpl["Parameters"]
    fns = functions(tpl)
    for name, fn in fns.items():
        props = fn["Properties"]
        assert "Policies" not in props, f"{name}: SAM policy templates add '*' resources"
        role = props["Role"]
        assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{name}: Role must be the stack's"
        role_name = role["Fn::GetAtt"][0]
        log_group = "/aws/lambda/" + props["FunctionName"]["Fn::Sub"]
        granted = {}
        for effect, actions, resources in role_statements(tpl, role_name):
            assert effect == "Allow"
            for a in actions:
                assert "*" not in a, f"{role_name}: wildcard action {a}"
            for r in resources:
                assert r != "*" and not (isinstance(r, str) and r.endswith(":*")), \
                    f"{role_name}: resource {r}"
                for a in actions:
                    granted.setdefault(a, []).append(r)
        # Logs: only its own log group, the one the function writes to.
        for a in ("logs:CreateLogStream", "logs:PutLogEvents"):
            (res,) = granted.pop(a)
            group = tpl["Resources"][res["Fn::GetAtt"][0]]
            assert group["Type"] == "AWS::Logs::LogGroup"
            assert group["Properties"]["LogGroupName"] == {"Fn::Sub": log_group}
        if name in ("StoreFunction", "OrderEventsFunction"):
            dynamo = {a for a in granted if a.startswith("dynamodb:")}
            # The streaming endpoint only reads one order: GetItem (shop/order_events.py).
            wanted = store_dynamodb_actions() if name == "StoreFunction" else {"dynamodb:GetItem"}
            assert dynamo == wanted, \
                f"{name}: the role's DynamoDB actions must be exactly the calls it makes"
            for a in dynamo:
                assert granted.pop(a) == [{"Fn::GetAtt": ["StoreTable", "Arn"]}]
            (res,) = granted.pop("ssm:GetParameter")
            param = props["Environment"]["Variables"]["STORE_TOKEN_SECRET_PARAM"]["Ref"]
            assert param in params
            assert res == {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                      f":parameter${{{param}}}"}
            # the ARN above is right only for names that start with "/"
            assert params[param]["AllowedPattern"].startswith("^/")
        assert not granted, f"{name}: unexpected grants {granted}"


def test_order_events_streams_through_a_function_url(tpl):
    """The streaming endpoint: a function URL in RESPONSE_STREAM mode (as SAM writes it), the
    generator handler of pyhandlers/order_events.py, and its URL among the outputs."""
    fn = tpl["Resources"]["OrderEventsFunction"]["Properties"]
    assert fn["Handler"] == "order_events.handler"
    assert fn["FunctionUrlConfig"] == {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}
    assert "Events" not in fn  # HTTP APIs do not stream
    assert tpl["Outputs"]["OrderEventsUrl"]["Value"] == {
        "Fn::GetAtt": ["OrderEventsFunctionUrl", "FunctionUrl"]}
    source = (ROOT / "pyhandlers" / "order_events.py").read_text()
    assert _defines(source, "handler")


def test_token_secret_is_not_in_plain_environment(tpl):
    for name, fn in functions(tpl).items():
        env = dict(tpl.get("Globals", {}).get("Function", {}).get("Environment", {})
                   .get("Variables", {}))
        env.update((fn["Properties"].get("Environment") or {}).get("Variables", {}))
        assert "STORE_TOKEN_SECRET" not in env, name
        for key, value in env.items():
            if re.search(r"SECRET|PASSWORD|TOKEN", key):
                assert key.endswith("_PARAM") and isinstance(value, dict) and "Ref" in value, \
                    f"{name}: {key} must name a parameter, not hold a value"
    default = tpl["Parameters"]["TokenSecretParameterName"].get("Default", "")
    assert default.startswith("/") and "NoEcho" not in tpl["Parameters"]["TokenSecretParameterName"]


def test_store_reads_the_variables_the_template_sets(tpl):
    env = tpl["Resources"]["StoreFunction"]["Properties"]["Environment"]["Variables"]
    sources = "\n".join(p.read_text() for p in (ROOT / "pyhandlers").rglob("*.py"))
    missing = [k for k in env if f'"{k}"' not in sources]
    assert not missing, f"the template sets {missing}, which pyhandlers/ never reads"


def test_cfn_lint_accepts_the_template():
    exe = shutil.which("cfn-lint")
    if exe is None:
        pytest.skip("cfn-lint is not installed")
    res = subprocess.run([exe, str(TEMPLATE)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
