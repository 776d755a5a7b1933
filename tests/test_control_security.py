"""The control API's security over a real socket: a ``druid-sim serve`` process, serve's own settings.

* Paths given through ``/__sim/scenario`` and ``/__sim/cassette`` resolve only inside the allowed folders
  (the working directory here); a refused path answers exactly as a missing one does.
* Errors never quote a file's content (every answer is searched for a secret planted in the files).
* A web page cannot drive it: changes need Content-Type: application/json, the server's own Origin and
  no cross-site Sec-Fetch-Site; every call needs a Host this machine answers as (DNS rebinding).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.process import serve

SECRET = "hunter2-8c1f3"
JSON = {"content-type": "application/json"}
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"

#: A scenario with the secret in every place a message could quote it from.
LEAKY_SCENARIO = f"""\
description: leaks
{SECRET}: a key nobody knows
arrivals: {{every: "{SECRET}"}}
cluster:
  - {{count: "{SECRET}", state: "{SECRET}"}}
behaviours:
  - run: {{{SECRET}: 1}}
    failure_probability: "{SECRET}"
    log_bytes_per_second: "{SECRET}"
  - run: {{uniform: [50m, 1m]}}
faults:
  - {{name: "{SECRET}", kind: "{SECRET}"}}
  - {{kind: error, status: 503, routes: ["{SECRET}"], methods: ["{SECRET}"], when: {{between: [9s, 1s]}}}}
  - {{kind: redirect, to: "{SECRET}"}}
  - {{kind: error, match: {{query: {{q: {{regex: "({SECRET}"}}}}}}}}
timeline:
  - {{at: "{SECRET}", submit: {{count: 1}}}}
security:
  users:
    "{SECRET}:x": {{password: pw, roles: [r]}}
    viewer: {{password: pw, roles: ["{SECRET}", "r{SECRET}"]}}
  roles:
    "r{SECRET}x": [{{resource: {{type: "{SECRET}", name: ".*"}}, action: "{SECRET.lower()}"}}]
    r: [{{resource: {{type: datasource, name: ".*"}}, action: READ}}]
"""


@dataclass
class Served:
    url: str
    port: int
    folder: Path
    outside: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("allowed")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text(f"description: {SECRET}\n")
    (outside / "passwd").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n")
    (folder / "ok.yaml").write_text("description: a scenario in the allowed folder\narrivals: {every: 5m}\n")
    (folder / "sub").mkdir()
    (folder / "leaky.yaml").write_text(LEAKY_SCENARIO)
    (folder / "not-yaml.yaml").write_text(f"key: [unclosed {SECRET}\n  - {SECRET}: *{SECRET}\n")
    (folder / "plain.yaml").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END-----\n")
    (folder / "id_rsa").write_text(f"description: {SECRET}\n")  # a YAML-looking file without the suffix
    (folder / "escape.yaml").symlink_to(outside / "secret.yaml")
    (folder / "docs.jsonl").write_bytes((CASSETTES / "docs-examples.jsonl").read_bytes())
    (folder / "version.jsonl").write_text(f'{{"druid_sim_cassette": "{SECRET}"}}\n')
    header = '{"druid_sim_cassette": 1, "recorded_at": "", "upstream": null}\n'
    bad_header = (
        '{"request": {"method": "GET", "path": "/x"}, '
        f'"response": {{"status": 200, "headers": [["{SECRET} x", "v"], ["X-Token", "{SECRET}\\u0001"]]}}}}\n'
    )
    (folder / "headers.jsonl").write_text(header + bad_header)
    (folder / "status.jsonl").write_text(
        header + '{"request": {"method": "GET", "path": "/x"}, "response": {"status": 7}}\n'
    )
    with serve("--scenario", "ok.yaml", "--time-scale", "0", "--no-access-log", cwd=folder) as (process, url):
        yield Served(url, int(url.rsplit(":", 1)[1]), folder, outside)
        _assert_clean_log(process)


def _assert_clean_log(process: subprocess.Popen[str]) -> None:
    process.terminate()
    _, err = process.communicate(timeout=10)
    assert "Traceback" not in err and SECRET not in err


def load(served: Served, kind: str, ref: str) -> httpx.Response:
    response = httpx.post(f"{served.url}/__sim/{kind}", json={kind: ref}, timeout=30)
    assert SECRET not in response.text, response.text
    return response


@pytest.mark.parametrize("kind", ["scenario", "cassette"])
def test_paths_outside_the_allowed_folders_answer_as_missing_ones(served: Served, kind: str) -> None:
    missing = load(served, kind, "no-such-file.yaml")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    refused = [
        "/etc/passwd",
        str(served.outside / "secret.yaml"),
        str(served.outside / "passwd"),
        "../" + served.outside.name + "/secret.yaml",  # .. out of the folder
        "escape.yaml",  # a symlink in the folder pointing out of it
        "id_rsa",  # in the folder, but not a scenario or cassette file
        str(served.folder),  # a folder
        "ok.yaml\0.jsonl",
    ]
    for ref in refused:
        response = load(served, kind, ref)
        assert response.status_code == 404, ref
        assert response.json()["message"] == missing.json()["message"].replace(repr("no-such-file.yaml"), repr(ref))
    assert str(served.folder) in missing.json()["message"]  # where the allowed files are: the fix
    assert "--data-dir" in missing.json()["message"]


def test_files_in_the_allowed_folder_and_built_ins_load(served: Served) -> None:
    assert load(served, "scenario", "slow-tasks").status_code == 200  # a built-in, by name
    assert load(served, "scenario", "ok.yaml").json()["loaded"] is True  # relative: looked up in the folder
    loaded = load(served, "scenario", str(served.folder / "sub" / ".." / "ok.yaml"))
    assert loaded.status_code == 200 and loaded.json()["scenario"] == str(served.folder / "ok.yaml")
    cassette = load(served, "cassette", "docs.jsonl")
    assert cassette.status_code == 200 and cassette.json()["cassette"] == str(served.folder / "docs.jsonl")
    assert load(served, "cassette", None).status_code == 200  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["leaky.yaml", "not-yaml.yaml", "plain.yaml"])
def test_scenario_problems_never_quote_the_file(served: Served, name: str) -> None:
    before = httpx.get(f"{served.url}/__sim/scenario").json()
    response = load(served, "scenario", name)
    assert response.status_code == 422
    body = response.json()
    assert body["problems"] and all(problem["line"] for problem in body["problems"])  # where, still
    assert "druid-sim scenario validate" in body["message"]  # and how to see the values
    assert httpx.get(f"{served.url}/__sim/scenario").json() == before  # nothing changed


def test_the_cli_still_quotes_a_users_own_file(served: Served) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "scenario", "validate", str(served.folder / "leaky.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and SECRET in result.stdout + result.stderr


def test_a_scenario_file_spoiled_after_loading_is_reported_without_its_values(served: Served) -> None:
    spoiled = served.folder / "spoiled.yaml"
    spoiled.write_text("description: fine for now\n")
    assert load(served, "scenario", "spoiled.yaml").status_code == 200
    clock = httpx.post(f"{served.url}/__sim/clock", json={"advance": "1h"}).json()
    spoiled.write_text(f"description: fine for now\narrivals: {{every: {SECRET}}}\n")
    reset = httpx.post(f"{served.url}/__sim/reset", json={})
    assert reset.status_code == 409 and SECRET not in reset.text and "no longer validates" in reset.text
    assert httpx.get(f"{served.url}/__sim/clock").json()["nowMillis"] == clock["nowMillis"]  # nothing changed
    shown = httpx.get(f"{served.url}/__sim/scenario")
    assert shown.status_code == 200 and shown.json()["problems"] and SECRET not in shown.text
    assert load(served, "scenario", "ok.yaml").status_code == 200


@pytest.mark.parametrize("name", ["version.jsonl", "headers.jsonl", "status.jsonl"])
def test_cassette_problems_never_quote_the_file(served: Served, name: str) -> None:
    response = load(served, "cassette", name)
    assert response.status_code == 422 and f"{name}:" in response.json()["message"]  # file and line
    described = httpx.get(f"{served.url}/__sim/cassette").text
    assert SECRET not in described


# -- web pages -------------------------------------------------------------------------------------


def post(served: Served, path: str, headers: dict[str, str], body: bytes = b"{}") -> httpx.Response:
    response = httpx.post(f"{served.url}{path}", content=body, headers=headers)
    assert response.headers["content-type"] == "application/json"
    return response


def test_changes_must_be_json(served: Served) -> None:
    for headers in ({}, {"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}):
        refused = post(served, "/__sim/reset", headers)
        assert refused.status_code == 415 and refused.json()["error"] == "unsupported_media_type", headers
        assert "Content-Type: application/json" in refused.json()["message"]
    # A change without a body may leave the content type out, as a generated client does (issue 22 item 11),
    # unless it comes with an Origin, as every browser request does.
    assert httpx.delete(f"{served.url}/__sim/faults").status_code == 200
    from_a_page = httpx.delete(f"{served.url}/__sim/faults", headers={"Origin": served.url})
    assert from_a_page.status_code == 415
    assert post(served, "/__sim/reset", {"content-type": "application/json; charset=utf-8"}).status_code == 200
    assert httpx.delete(f"{served.url}/__sim/faults", headers=JSON).status_code == 200
    assert httpx.get(f"{served.url}/__sim/faults").status_code == 200  # reads need nothing


def test_changes_from_other_origins_are_refused(served: Served) -> None:
    own = f"http://127.0.0.1:{served.port}"
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": f"http://localhost:{served.port}"},  # another name of this machine: another origin
        {"origin": "http://127.0.0.1:3000"},  # another local server's page
        {"origin": "null"},  # a sandboxed frame or a file: page
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": own},
    ):
        refused = post(served, "/__sim/clock", {**JSON, **headers}, b'{"advance": "1s"}')
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden", headers
    same_page = {**JSON, "origin": own, "sec-fetch-site": "same-origin"}  # a page served by this server
    assert post(served, "/__sim/clock", same_page, b'{"advance": "1s"}').status_code == 200
    assert post(served, "/__sim/clock", {**JSON, "sec-fetch-site": "none"}, b'{"advance": "1s"}').status_code == 200


def test_only_this_machines_names_reach_the_control_api(served: Served) -> None:
    port = served.port
    for host in (f"evil.example:{port}", f"127.0.0.1:{port + 1}", "localhost", f"127.0.0.2:{port}"):
        refused = httpx.get(f"{served.url}/__sim/health", headers={"host": host})
        assert refused.status_code == 403 and "DNS rebinding" in refused.json()["message"], host
        assert post(served, "/__sim/reset", {**JSON, "host": host}).status_code == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert httpx.get(f"{served.url}/__sim/health", headers={"host": host}).status_code == 200, host
    druid = httpx.get(f"{served.url}/druid/indexer/v1/tasks", headers={"host": f"evil.example:{port}"})
    assert druid.status_code == 200  # the Druid API is not gated (as Druid's own is not)


def test_the_cli_and_python_client_still_drive_it(served: Served) -> None:
    from druid_sim.client import SimControl

    with SimControl(served.url) as sim:
        sim.reset()
        sim.freeze()
        sim.add_fault({"name": "f", "kind": "error", "status": 503})
        sim.remove_fault("f")
        sim.clear_faults()
        sim.clear_journal()
        assert sim.advance("1m")["frozen"] is True
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "reset", "--url", served.url], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
