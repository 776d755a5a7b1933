"""Bad input on the Druid API gets Druid's own answer and never a traceback (issue "Hardening").

One ``druid-sim serve`` process with serve's own settings (uvloop, httptools, the express lane) for
the whole module; every test talks HTTP to it, and its teardown checks the log it wrote has no traceback.
Each test names the reference section whose behaviour it checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from druid_sim.druid.jackson import DEPTH_MESSAGE
from tests.support.served import START, Served, served

D = "/druid/indexer/v1"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def _served() -> Iterator[Served]:
    with served("--time-scale", "0", "--start-time", START, "--no-access-log") as process:
        yield process


@pytest.fixture
def server(_served: Served) -> Iterator[Served]:
    """The module's server, its log checked for tracebacks after each test (issue 23, item 2): every
    test checks what its own requests wrote, whether it runs alone, with ``-k`` or in any order."""
    with _served.no_traceback():
        yield _served


@pytest.fixture
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def post_task(client: httpx.Client, body: bytes | dict[str, Any]) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"{D}/task", content=data, headers=JSON)


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


# -- context that is not an object (reference 1.1, 2.11: a Jackson mapping error is 400 {"error": first line}) ----

MAP = "java.util.LinkedHashMap<java.lang.String,java.lang.Object>"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            "x",
            "Cannot construct instance of `java.util.LinkedHashMap` (although at least one Creator exists): "
            "no String-argument constructor/factory method to deserialize from String value ('x')",
        ),
        ([1], f"Cannot deserialize value of type `{MAP}` from Array value (token `JsonToken.START_ARRAY`)"),
        (5, f"Cannot deserialize value of type `{MAP}` from Integer value (token `JsonToken.VALUE_NUMBER_INT`)"),
        (
            1.5,
            f"Cannot deserialize value of type `{MAP}` from Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)",
        ),
        (True, f"Cannot deserialize value of type `{MAP}` from Boolean value (token `JsonToken.VALUE_TRUE`)"),
        (
            "",
            'Cannot coerce empty String ("") to element of `java.util.LinkedHashMap` '
            "(but could if coercion was enabled using `CoercionConfig`)",
        ),
    ],
)
def test_2_11_context_that_is_not_an_object_is_400_jackson_error(
    client: httpx.Client, context: Any, message: str
) -> None:
    answer = post_task(client, {"type": "noop", "context": context})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": message}


def test_2_11_mapping_error_keeps_only_its_first_line(client: httpx.Client) -> None:
    answer = post_task(client, {"type": "noop", "context": "first\nsecond"})
    assert answer.status_code == 400
    assert answer.json()["error"].endswith("from String value ('first")


def test_2_11_context_error_comes_before_constructor_checks(client: httpx.Client) -> None:
    # Jackson reads every property before the constructor checks the id or the data source.
    answer = post_task(client, {"type": "index_parallel", "id": "a/b", "context": []})
    assert answer.status_code == 400
    assert "from Array value" in answer.json()["error"]


def test_2_11_null_context_is_fine(client: httpx.Client) -> None:
    answer = post_task(client, {"type": "noop", "context": None})
    assert answer.status_code == 200


# -- nesting: Jackson 2.15+ reads 1,000 levels (StreamReadConstraints), orjson writes 254 (reference 1.1) ------


@pytest.mark.parametrize("depth", [254, 255, 300, 999])
def test_1_1_deep_specs_up_to_jacksons_limit_are_accepted_and_served_back(client: httpx.Client, depth: int) -> None:
    spec = nested(depth)  # the document is one level deeper than its spec
    answer = post_task(client, f'{{"type":"noop","spec":{spec}}}'.encode())
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["task"]
    payload = client.get(f"{D}/task/{task_id}")
    assert payload.status_code == 200
    assert f'"spec":{spec}' in payload.text


def test_1_1_one_level_past_the_limit_in_a_task_property_is_400(client: httpx.Client) -> None:
    # The type is known before the deep value, which sits in a constructor property: Jackson wraps
    # the StreamConstraintsException in a JsonMappingException.
    answer = post_task(client, f'{{"type":"noop","context":{{"a":{nested(999)}}}}}'.encode())
    assert answer.status_code == 400
    assert answer.json() == {"error": DEPTH_MESSAGE}


@pytest.mark.parametrize("depth", [1000, 1100, 5000])
def test_1_1_past_the_limit_before_the_type_or_in_an_unknown_field_is_500(client: httpx.Client, depth: int) -> None:
    for body in (f'{{"spec":{nested(depth)},"type":"noop"}}', f'{{"type":"noop","extra":{nested(depth)}}}'):
        answer = post_task(client, body.encode())
        assert answer.status_code == 500
        assert "StreamConstraintsException: Document nesting depth (1001) exceeds the maximum allowed" in answer.text


def test_1_1_deep_top_level_array_is_the_array_mapping_error(client: httpx.Client) -> None:
    answer = post_task(client, nested(3000).encode())
    assert answer.status_code == 400
    assert answer.json()["error"].endswith("from Array value (token `JsonToken.START_ARRAY`)")


@pytest.mark.parametrize("depth", [3, 300, 3000])
def test_2_14_task_status_with_nested_items_is_400_string_mismatch(client: httpx.Client, depth: int) -> None:
    answer = client.post(f"{D}/taskStatus", content=f'["a",{nested(depth)}]', headers=JSON)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`)"
    }


def test_2_14_task_status_with_a_string_body_is_400_set_mismatch(client: httpx.Client) -> None:
    answer = client.post(f"{D}/taskStatus", content='"a"', headers=JSON)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "Cannot deserialize value of type `java.util.HashSet<java.lang.String>` from String value "
        "(token `JsonToken.VALUE_STRING`)"
    )


# -- intervals: Joda's calendar, not Python's (reference 2.1 step 4, 2.15) ----------------------------------


@pytest.mark.parametrize(
    "interval",
    ["P1D_0001-01-01", "P2147483647D/2020-01-01", "-0001-01-01/P1D", "0001-01-01_9999-12-31", "P1Y/10000-01-01"],
)
def test_2_1_intervals_joda_accepts_give_a_list(client: httpx.Client, interval: str) -> None:
    answer = client.get(f"{D}/tasks", params={"createdTimeInterval": interval})
    assert answer.status_code == 200
    assert isinstance(answer.json(), list)


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        # Joda reads ten digits per field, then expects the suffix: 11 digits are malformed ...
        ("P99999999999D/2020-01-01", 'Invalid format: "P99999999999D" is malformed at "99999999999D"'),
        # ... and ten that do not fit an int fail Integer.parseInt.
        ("P9999999999D/2020-01-01", 'For input string: "9999999999"'),
        ("P300000000Y/2020-01-01", "Value -299997980 for year must be in the range [-292275054,292278993]"),
        ("2020-01-02/2020-01-01", "The end instant must be greater than the start instant"),
    ],
)
def test_2_1_intervals_joda_refuses_are_500_invalid_input(client: httpx.Client, interval: str, message: str) -> None:
    answer = client.get(f"{D}/tasks", params={"createdTimeInterval": interval}, headers={"Accept": "application/json"})
    assert answer.status_code == 500
    assert (
        answer.json()["message"] == f"org.apache.druid.error.DruidException: Invalid interval[{interval}]: [{message}]"
    )


def test_2_1_year_overflow_is_an_arithmetic_exception(client: httpx.Client) -> None:
    answer = client.get(
        f"{D}/tasks", params={"createdTimeInterval": "2020-01-01/P2147483647Y"}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 500
    assert (
        answer.json()["message"]
        == "java.lang.ArithmeticException: The calculation caused an overflow: 2020 + 2147483647"
    )


def test_2_15_pending_segments_with_far_intervals(client: httpx.Client) -> None:
    for interval in ("P1D_0001-01-01", "P99999D/2020-01-01"):
        answer = client.delete(f"{D}/pendingSegments/wikipedia", params={"interval": interval})
        assert answer.status_code == 200
        assert answer.json() == {"numDeleted": 0}
    task_id = post_task(client, {"type": "noop", "dataSource": "far"}).json()["task"]
    answer = client.delete(f"{D}/pendingSegments/far", params={"interval": "P2147483647D/2030-01-01"})
    assert answer.status_code == 400
    assert f"active task[{task_id}]" in answer.json()["error"]
    assert "delete interval[-5877581-06-24T00:00:00.000Z/2030-01-01T00:00:00.000Z]" in answer.json()["error"]


# -- task ids: IdUtils.validateId checks ASCII whitespace and UTF-16 code units (reference 1.2, 5) ------------


def test_1_2_no_break_space_in_an_id_is_a_legal_unknown_id(client: httpx.Client) -> None:
    answer = client.get(f"{D}/task/a%C2%A0b/status")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "text/plain"
    assert answer.text == "Cannot find any task with id: [a\u00a0b]"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a%09b", "Value [a\tb] contains illegal whitespace characters.  Only space is allowed."),
        ("a%F0%9F%98%80", "contains illegal UTF8 character [#55357] at position [1]"),
        ("a%01b", "contains illegal UTF8 character [#1] at position [1]"),
    ],
)
def test_1_2_ids_validate_id_refuses_are_500_pages(client: httpx.Client, raw: str, message: str) -> None:
    answer = client.get(f"{D}/task/{raw}/status", headers={"Accept": "application/json"})
    assert answer.status_code == 500
    assert message in answer.json()["message"]


def test_1_2_characters_just_outside_validate_ids_ranges_are_legal(client: httpx.Client) -> None:
    # validateId's bounds are exclusive: 31 (unit separator) and 159 are allowed.
    for raw, decoded in (("a%1Fb", "a\x1fb"), ("a%C2%9Fb", "a\x9fb")):
        answer = client.get(f"{D}/task/{raw}/status")
        assert answer.status_code == 404
        assert answer.text == f"Cannot find any task with id: [{decoded}]"
