"""The API fuzz of `make attack` against the live server's own schema (/api/schema/).

Two fuzzers, one after the other: schemathesis (in requirements/dev.lock since dd0fa68; skipped,
and said so, where it cannot be imported) with its checks not_a_server_error,
status_code_conformance, content_type_conformance and response_schema_conformance, for agency
B's manager and creator (9 requests/s: under the API's 600/min throttle per user, so that it
tests the API, not the throttle), bounded by --max-examples and --max-time; then this module's
own generator, which knows the tenants. For every operation of the schema, for three callers (agency A's manager, creator 1, agency B's
owner), it sends `examples` requests: the first with the path filled with the caller's own
objects (agency B's owner: agency A's) and a body built from the operation's request schema
(every property, plausible values); the others with random mutations (a random uuid or junk in
the path, wrong types, missing required fields, nulls, huge and odd strings, negative numbers).

Checks, per response: not a server error (no 5xx); for agency B's owner, no 2xx naming anything
of agency A's (its public ids, its name); the status code is one the operation
documents; the content type is one documented for that status; a JSON body validates against the
documented schema (jsonschema, OpenAPI 3.0's `nullable` read as a null type).
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CALLERS = ("manager_a", "creator_1", "owner_b")
JUNK_STRINGS = [
    "",
    " ",
    "x" * 5000,
    "'; DROP TABLE x; --",
    "\u202e\u0000?",
    "１２３．４５",
    "<script>",
    "-1",
    "1e309",
    "null",
]


@dataclass
class ApiFuzz:
    tool: str = ""
    operations: int = 0
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    grouped: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, where: str) -> None:
        self.grouped.setdefault(kind, []).append(where)

    def summary(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "operations": self.operations,
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "answers": dict(sorted(self.statuses.items())),
            "findings by check": {k: len(v) for k, v in self.grouped.items()},
            "examples of each": {k: v[:8] for k, v in self.grouped.items()},
        }


def _resolve(schema: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """The node with every $ref inlined (bounded depth: recursive schemas end in {})."""
    if isinstance(node, dict):
        if "$ref" in node:
            if depth > 8:
                return {}
            target: Any = schema
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _resolve(schema, target, depth + 1)
        return {k: _resolve(schema, v, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(schema, v, depth) for v in node]
    return node


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` adds null to the type (or to oneOf/allOf)."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = (
                    [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
                )
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        for key in ("readOnly", "writeOnly", "example", "discriminator", "xml", "externalDocs"):
            node.pop(key, None)
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


def _value(node: dict[str, Any], rng: random.Random, *, plausible: bool, world: Any) -> Any:
    if node.get("enum"):
        choices = [c for c in node["enum"] if c is not None] or [None]
        return choices[0] if plausible else rng.choice(choices)
    for combinator in ("oneOf", "anyOf", "allOf"):
        if node.get(combinator):
            return _value(node[combinator][0], rng, plausible=plausible, world=world)
    kind = node.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    fmt = node.get("format", "")
    if kind == "object":
        return _body(node, rng, plausible=plausible, world=world)
    if kind == "array":
        return [_value(node.get("items", {}), rng, plausible=plausible, world=world)]
    if kind == "integer":
        return 1 if plausible else rng.choice([0, -1, 2**63, 10**20, 7])
    if kind == "number":
        return 1.5 if plausible else rng.choice([0, -1e300, 1e-9, 3.14])
    if kind == "boolean":
        return False if plausible else rng.choice([True, False])
    if fmt == "uuid":
        return world.agency_a.objects["agency"] if plausible else str(uuid.uuid4())
    if fmt == "date":
        return "2026-11-15" if plausible else rng.choice(["2026-02-30", "0001-01-01", "9999-12-31", "x"])
    if fmt == "date-time":
        return "2026-11-15T10:00:00+08:00" if plausible else rng.choice(["2026-13-01T00:00:00Z", "now"])
    if fmt == "email":
        return "fuzz@attack.test" if plausible else rng.choice(["@", "a@b", "x" * 300 + "@e.test"])
    if fmt == "uri":
        return "https://example.test/x" if plausible else "javascript:alert(1)"
    if fmt == "binary":
        return b"%PDF-1.7\n%fuzz\n" if plausible else rng.randbytes(rng.randrange(1, 2048))
    description = node.get("description", "")
    pattern = node.get("pattern", "")
    pattern_money = (isinstance(description, str) and "decimal" in description.lower()) or (
        isinstance(pattern, str) and pattern.startswith("^-?\\d")
    )
    if pattern_money:
        return "10.00" if plausible else rng.choice(["1e3", "-0", "１０．００", "10.001", "NaN"])
    return "fuzz" if plausible else rng.choice(JUNK_STRINGS)


def _body(node: dict[str, Any], rng: random.Random, *, plausible: bool, world: Any) -> dict[str, Any]:
    properties = node.get("properties", {})
    body = {}
    for name, prop in properties.items():
        if prop.get("readOnly"):
            continue
        body[name] = _value(prop, rng, plausible=plausible, world=world)
    return body


def _mutate(body: Any, node: dict[str, Any], rng: random.Random) -> Any:
    if not isinstance(body, dict) or not body:
        return rng.choice([[], "x", 1, None, {"unexpected": [1, {"a": None}]}])
    body = copy.deepcopy(body)
    name = rng.choice(sorted(body))
    choice = rng.randrange(5)
    if choice == 0:
        body.pop(name)
    elif choice == 1:
        body[name] = None
    elif choice == 2:
        body[name] = rng.choice([[], {}, 12345678901234567890, True, "x" * 100_000])
    elif choice == 3:
        body[name] = rng.choice(JUNK_STRINGS)
    else:
        body["extra_" + str(rng.randrange(100))] = {"nested": [None]}
    return body


class Generator:
    """This suite's own schema-driven requests (schemathesis is not installed)."""

    def __init__(self, live: Any, schema: dict[str, Any], seed: int) -> None:
        from tests import route_matrix

        self.live, self.schema, self.rng = live, schema, random.Random(seed)
        self.routes = {
            route_matrix._schema_path(r): r for r in route_matrix.routes() if r.pattern.startswith("api/v1/")
        }
        self.route_matrix = route_matrix

    def path_for(self, path: str, caller: str, plausible: bool) -> str:
        route = self.routes.get(path)
        world = self.live.world
        tenant = world.creator_1 if caller == "creator_1" else world.agency_a
        values: dict[str, str] = {}
        kinds = self.route_matrix.rule_for(route) if route is not None else None
        for conv, name in route.params if route is not None else []:
            kind = (kinds or {}).get(name, "")
            if plausible and kind in self.route_matrix.FIXED:
                values[name] = self.route_matrix.FIXED[kind]
            elif plausible and (kind in tenant.objects or kind in world.agency_a.objects):
                values[name] = tenant.objects.get(kind) or world.agency_a.objects[kind]
            else:
                values[name] = (
                    self.rng.choice([str(uuid.uuid4()), "not-a-uuid", "0", "%00", "x" * 300])
                    if conv != "int"
                    else str(self.rng.choice([0, -1, 99999999]))
                )
        return path.format(**values) if values else path

    def requests(
        self, path: str, method: str, operation: dict[str, Any], caller: str, examples: int
    ) -> list[dict[str, Any]]:
        world = self.live.world
        made = []
        body_spec = operation.get("requestBody", {}).get("content", {})
        for number in range(examples):
            plausible = number == 0
            request: dict[str, Any] = {
                "method": method.upper(),
                "url": self.path_for(path, caller, plausible),
                "params": {},
            }
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if plausible and not parameter.get("required"):
                    continue
                request["params"][parameter["name"]] = _value(
                    parameter.get("schema", {}), self.rng, plausible=plausible, world=world
                )
            if "application/json" in body_spec:
                node = body_spec["application/json"].get("schema", {})
                body = (
                    _body(node, self.rng, plausible=True, world=world)
                    if node.get("type", "object") == "object"
                    else _value(node, self.rng, plausible=True, world=world)
                )
                request["json"] = body if plausible else _mutate(body, node, self.rng)
            elif "multipart/form-data" in body_spec:
                node = body_spec["multipart/form-data"].get("schema", {})
                data, files = {}, {}
                for name, prop in node.get("properties", {}).items():
                    if prop.get("readOnly"):
                        continue
                    value = _value(prop, self.rng, plausible=plausible, world=world)
                    if isinstance(value, bytes):
                        files[name] = (f"fuzz-{number}.pdf", value, "application/octet-stream")
                    elif not isinstance(value, (dict, list)):
                        data[name] = (
                            ""
                            if value is None
                            else str(value).lower()
                            if isinstance(value, bool)
                            else str(value)
                        )
                request["data"], request["files"] = data, files
            made.append(request)
        return made


def _check(result: ApiFuzz, operation: dict[str, Any], where: str, response: Any, secrets: set[str]) -> None:
    import jsonschema

    status = response.status_code
    result.statuses[status] += 1
    if status == 414:
        return  # gunicorn's own answer to a request line over its limit: the app never saw it
    if 200 <= status < 300 and secrets:
        # Agency B's owner, with agency A's ids in the path, the body and the query: nothing of
        # agency A may come back (the matrix's leak check, with the schema's parameters).
        text = response.content.decode("utf-8", "replace")
        named = sorted(secret for secret in secrets if secret in text)
        if named:
            result.add("tenancy", f"{where}: {status} names agency A's {named[:2]}")
    if status >= 500:
        result.add("not_a_server_error", f"{where}: {status}")
        return
    responses = operation.get("responses", {})
    documented = (
        responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    )
    if documented is None:
        result.add(
            "status_code_conformance", f"{where}: {status} (documented: {', '.join(sorted(responses))})"
        )
        return
    content = documented.get("content") or {}
    kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if not content:
        return
    if kind not in content:
        result.add(
            "content_type_conformance",
            f"{where}: {status} {kind or 'no content type'} (documented: {', '.join(content)})",
        )
        return
    node = content[kind].get("schema")
    if node and kind.endswith("json") and response.content:
        try:
            body = response.json()
        except ValueError:
            result.add("response_schema_conformance", f"{where}: {status} not JSON")
            return
        try:
            error = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(_nullable(node)).iter_errors(body)
            )
        except jsonschema.SchemaError as bad:
            result.add("generator", f"{where}: the documented schema is not JSON Schema: {bad.message[:120]}")
            return
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path)
            result.add(
                "response_schema_conformance", f"{where}: {status} at {at or '(root)'}: {error.message[:140]}"
            )


def _send(session: Any, request: dict[str, Any], live: Any, caller: str) -> Any:
    """The request; once more on a fresh connection if the server closed the kept-alive one just
    as it was reused (gunicorn's keep-alive timeout racing the client: not the app's answer)."""
    import requests

    for attempt in (1, 2):
        try:
            return session.request(
                request["method"],
                live.base + request["url"],
                params=request["params"],
                json=request.get("json"),
                data=request.get("data"),
                files=request.get("files") or None,
                headers=live.headers(caller),
                timeout=60,
            )
        except requests.ConnectionError:
            if attempt == 2:
                raise
            session.close()
    raise AssertionError("not reached")


def run(live: Any, *, examples: int, seed: int) -> ApiFuzz:
    import requests

    started = time.monotonic()
    result = ApiFuzz()
    response = requests.get(
        f"{live.base}/api/schema/?format=json", headers=live.headers("manager_a"), timeout=60
    )
    response.raise_for_status()
    raw = response.json()
    schema = _resolve(raw, raw)
    result.tool = "the suite's own generator"
    generator = Generator(live, schema, seed)
    # What must never reach agency B's owner: agency A's public ids and name.
    secrets = {"owner_b": live.world.agency_a.secrets}
    session = requests.Session()
    for path, item in sorted(schema["paths"].items()):
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            result.operations += 1
            for caller in CALLERS:
                try:
                    made = generator.requests(path, method, operation, caller, examples)
                except Exception as error:  # the generator's own fault: reported, not the API's
                    result.add("generator", f"{caller} {method.upper()} {path}: {error!r}"[:300])
                    continue
                for request in made:
                    where = f"{caller} {request['method']} {request['url'][:120]}"
                    try:
                        answer = _send(session, request, live, caller)
                    except requests.RequestException as error:
                        result.add("connection", f"{where}: {error!r}"[:300])
                        continue
                    result.requests += 1
                    if answer.status_code == 429:
                        time.sleep(1)
                    _check(result, operation, where, answer, secrets.get(caller, set()))
    for kind, where in result.grouped.items():
        # One finding per (check, operation and status): the report lists examples of each.
        seen = {w.split(":", 1)[0].split(" ", 1)[1] + " " + w.split(": ", 1)[1][:3] for w in where}
        result.findings += [f"{kind}: {s}" for s in sorted(seen)[:200]]
    result.seconds = time.monotonic() - started
    print(json.dumps(result.summary(), indent=1, default=str)[:3000])
    return result


SCHEMATHESIS_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
)


def run_schemathesis(
    live: Any,
    *,
    out: Any,
    examples: int,
    seed: int,
    max_time: int,
    callers: tuple[str, ...] = ("manager_a", "owner_b"),
) -> dict[str, Any]:
    """schemathesis's CLI against the live server, once per caller, on the schema the server
    serves (saved to a file: loading it needs the token). Returns its figures and failures."""
    import importlib.util
    import subprocess
    import sys
    import xml.etree.ElementTree as ElementTree
    from pathlib import Path

    import requests

    if importlib.util.find_spec("schemathesis") is None:
        return {
            "skipped": "schemathesis is not installed (make venv installs requirements/dev.lock)",
            "failures": [],
        }
    out = Path(out)
    schema_file = out / "schema.json"
    response = requests.get(
        f"{live.base}/api/schema/?format=json", headers=live.headers("manager_a"), timeout=60
    )
    response.raise_for_status()
    schema_file.write_bytes(response.content)
    executable = Path(sys.executable).with_name("schemathesis")
    summary: dict[str, Any] = {
        "checks": SCHEMATHESIS_CHECKS,
        "max examples": examples,
        "max time (s)": max_time,
    }
    failures: list[str] = []
    for caller in callers:
        junit = out / f"schemathesis-{caller}.xml"
        junit.unlink(missing_ok=True)
        command = [
            str(executable), "run", str(schema_file), "--url", live.base,
            "--checks", SCHEMATHESIS_CHECKS, "--max-examples", str(examples), "--seed", str(seed),
            "--max-time", str(max_time), "--phases", "examples,coverage,fuzzing", "--workers", "2",
            "--request-timeout", "30", "--no-shrink", "--rate-limit", "9/s", "--header", f"Authorization: Bearer {live.tokens[caller]}",
            "--report", "junit", "--report-junit-path", str(junit), "--output-truncate", "true",
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=max_time * 3 + 120, check=False
        )
        (out / f"schemathesis-{caller}.log").write_text(done.stdout + done.stderr)
        cases = failed = 0
        if junit.exists():
            # schemathesis's own report, written here a moment ago: not untrusted input.
            for case in ElementTree.parse(junit).getroot().iter("testcase"):  # noqa: S314
                cases += 1
                problems = list(case.iter("failure")) + list(case.iter("error"))
                if problems:
                    failed += 1
                    message = (problems[0].get("message") or problems[0].text or "").strip().splitlines()
                    failures.append(f"{caller} {case.get('name')}: {(message[0] if message else '?')[:200]}")
        tail = [line for line in done.stdout.splitlines() if line.strip()][-6:]
        summary[caller] = {
            "exit code": done.returncode,
            "operations (junit cases)": cases,
            "operations failing": failed,
            "seconds": round(time.monotonic() - started, 1),
            "summary": tail,
        }
        if done.returncode != 0 and not failed:
            failures.append(f"{caller}: schemathesis exited {done.returncode}: {' / '.join(tail)[:300]}")
    summary["failures"] = failures
    return summary
