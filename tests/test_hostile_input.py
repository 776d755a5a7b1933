"""Smaller hostile inputs of issue 22 (item 12), over a real socket."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
JSON = {"Content-Type": "application/json"}


def test_a_lone_surrogate_in_a_submitted_task_is_accepted_as_jackson_accepts_it(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 2.11: Jackson reads an unpaired ``\\uD800`` escape into the string; it used to be a 500 here."""
    body = b'{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"wiki\\ud800"}}}'
    submitted = client.post(f"{V1}/task", content=body, headers=JSON)
    assert submitted.status_code == 200, submitted.text
    task = submitted.json()["task"]
    assert task.startswith("index_parallel_wiki?_")
    payload = client.get(f"{V1}/task/{quote(task, safe='')}").json()["payload"]
    assert payload["spec"]["dataSchema"]["dataSource"] == "wiki?"  # written out as Java's UTF-8 encoder does
    statuses = client.post(f"{V1}/taskStatus", content=b'["nope\\udc00"]', headers=JSON)
    assert statuses.status_code == 200 and statuses.json() == {}


def test_a_body_that_is_broken_besides_its_surrogate_is_still_jacksons_500(
    server: LiveServer, client: httpx.Client
) -> None:
    body = b'{"type":"index_parallel","spec":"\\ud800",}'
    refused = client.post(f"{V1}/task", content=body, headers=JSON)
    assert refused.status_code == 500 and "JsonParseException" in refused.text
