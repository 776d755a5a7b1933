"""Write ``cassettes/docs-examples.jsonl``: every sample exchange of Druid's Tasks API docs page.

Usage::

    .venv/bin/python cassettes/make_docs_examples.py [PATH/TO/tasks-api.md] [OUTPUT]

The page (``docs/api-reference/tasks-api.md`` in apache/druid; a copy is ``docs/druid-tasks-api.md``,
the default source, and the output defaults to ``cassettes/docs-examples.jsonl``) shows, per endpoint, a raw ``HTTP``
sample request and a sample response. Each pair becomes one interaction written through the cassette
writer. JSON responses are stored compactly, as Druid writes them; anything that is not JSON (the task
log sample, the docs' single-quoted shutdown answer) is stored as text. A section without a sample response (task segments) is skipped.
The samples are the docs' own, typos included, so this cassette shows what the docs promise rather than
what Druid does (``docs/replay.md`` lists the differences that matter).
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import replace
from pathlib import Path

import orjson

from druid_sim.cassette import (
    CassetteWriter,
    Interaction,
    RecordMode,
    Request,
    Response,
    body_from_bytes,
    new_meta,
    read_meta,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO / "docs" / "druid-tasks-api.md"
DEFAULT_OUTPUT = Path(__file__).with_name("docs-examples.jsonl")
UPSTREAM = "https://druid.apache.org/docs/latest/api-reference/tasks-api (sample exchanges)"

_SECTION = re.compile(r"^### (.+)$", re.M)
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_HEADER = re.compile(r"^([A-Za-z-]+): (.*)$")


def _request(block: str) -> Request:
    lines = block.strip("\n").split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" HTTP/", 1)[0]
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    body_lines: list[str] = []
    for number, line in enumerate(lines[1:], start=1):
        match = _HEADER.match(line)
        if match and not body_lines:
            name = match.group(1)
            if name.lower() not in ("host", "content-length"):
                headers.append((name, match.group(2)))
        else:
            body_lines = lines[number:]
            break
    body = "\n".join(body_lines).encode()
    pairs = [(k, v) for k, _, v in (item.partition("=") for item in query.split("&") if item)]
    stored = body_from_bytes(orjson.dumps(orjson.loads(body)) if body else b"", "application/json")
    return Request(method, path, pairs, headers, stored)


def _response(block: str, path: str) -> Response:
    """Druid labels every answer but the task log ``application/json``, even a sample that is not JSON."""
    content_type = "text/plain; charset=UTF-8" if path.endswith("/log") else "application/json"
    try:
        data = orjson.dumps(orjson.loads(block))
    except orjson.JSONDecodeError:
        data = block.encode()
    return Response(200, [("Content-Type", content_type)], body_from_bytes(data, content_type))


def exchanges(markdown: str) -> list[tuple[str, Interaction]]:
    """(section title, interaction) for every section with both a sample request and a sample response."""
    found: list[tuple[str, Interaction]] = []
    starts = [m.start() for m in _SECTION.finditer(markdown)] + [len(markdown)]
    for begin, end in itertools.pairwise(starts):
        section = markdown[begin:end]
        title = section.split("\n", 1)[0][4:]
        fences = list(_FENCE.finditer(section))
        http = next((f for f in fences if f.group(1) == "HTTP"), None)
        if http is None:
            continue
        after = section.find("#### Sample response", http.end())
        response = next((f for f in fences if f.start() > after >= 0 and f.group(1) != "HTTP"), None)
        if response is None:
            continue
        request = _request(http.group(2))
        found.append((title, Interaction(request, _response(response.group(2), request.path), at=float(len(found)))))
    return found


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    try:
        markdown = source.read_text(encoding="utf-8")
    except OSError as exc:
        print(
            f"make_docs_examples.py: cannot read {source} ({exc.strerror}); give the Tasks API page's path",
            file=sys.stderr,
        )
        return 2
    pairs = exchanges(markdown)
    meta = new_meta(UPSTREAM, None, "make_docs_examples.py")
    if output.exists():  # made again: the same header, so an unchanged docs page gives the same bytes
        meta = replace(meta, recorded_at=read_meta(output).recorded_at)
    with CassetteWriter.open(output, RecordMode.OVERWRITE, meta) as writer:
        for _title, interaction in pairs:
            writer.append(interaction)
    for title, interaction in pairs:
        print(f"{interaction.request.method:6} {interaction.request.path}  ({title})")
    print(f"wrote {len(pairs)} interactions to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
