"""Scenario files that cannot be used: every message names the file, the line and the field, and says
what is allowed. The CLI and ``serve`` report them without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from druid_sim.cli import main
from druid_sim.scenario import ScenarioError, builtin_names, load_scenario


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    lines = str(caught.value).splitlines()
    assert all(line.startswith(str(path)) or line.startswith("broken.yaml") for line in lines)
    return lines


def test_bad_yaml_names_the_line_and_how_to_fix_it(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "description: x\ncluster:\n  - {count: 3, state: running\n")
    assert ":4: (top level): not valid YAML" in line or ":3: (top level): not valid YAML" in line
    assert "check indentation, colons and quotes" in line


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "description: x\nseed: 1\nseed: 2\n")
    assert line.endswith(":3: seed: is given twice; keep one")


def test_unknown_fields_suggest_the_closest_known_one(tmp_path: Path) -> None:
    lines = problems_of(tmp_path, "description: x\nbehaviors:\n  - run: 5s\nworkers: {capacty: 3}\n")
    assert any(":2: behaviors: unknown field; did you mean 'behaviours'?" in line for line in lines)
    assert any(":4: workers.capacty: unknown field; did you mean 'capacity'?" in line for line in lines)


def test_wrong_types_say_what_was_given_and_what_is_allowed(tmp_path: Path) -> None:
    text = "description: x\nqueue_max_size: ten\ncluster:\n  - {count: 2.5, state: runing}\n"
    lines = problems_of(tmp_path, text)
    assert any(":2: queue_max_size: must be a whole number, not a string ('ten')" in line for line in lines)
    assert any(":4: cluster[0].count: must be a whole number" in line for line in lines)
    assert any("cluster[0].state: must be one of complete, success" in line and "'running'?" in line for line in lines)


def test_bad_distributions_show_the_accepted_forms(tmp_path: Path) -> None:
    text = (
        "description: x\nbehaviours:\n"
        "  - run: {gauss: 5s}\n"
        "  - run: {uniform: [2m, 1m]}\n"
        "  - run: {lognormal: {sigma: 1}}\n"
        "  - run: five minutes\n"
    )
    lines = problems_of(tmp_path, text)
    assert any(":3: behaviours[0].run: unknown distribution 'gauss'; use a duration (45s)" in line for line in lines)
    assert any(":4: behaviours[1].run: uniform needs low <= high" in line for line in lines)
    assert any(":5: behaviours[2].run: lognormal takes {median" in line for line in lines)
    assert any(":6: behaviours[3].run: not a duration: 'five minutes'" in line for line in lines)


def test_bad_faults_and_timeline_events_are_reported_in_place(tmp_path: Path) -> None:
    text = (
        "description: x\nfaults:\n"
        "  - kind: eror\n"
        "  - {kind: redirect, to: overlord-2}\n"
        "  - {kind: error, when: {between: [60s, 30s]}}\n"
        "timeline:\n"
        "  - at: 1m\n"
        "    lose_leader: {for: 10s}\n"
        "    submit: {count: 3}\n"
    )
    lines = problems_of(tmp_path, text)
    assert any(":3: faults[0].kind: must be one of latency, error" in line and "'error'?" in line for line in lines)
    assert any(":4: faults[1].to: must be a base URL such as http://overlord-2:8090" in line for line in lines)
    assert any(":5: faults[2].when.between: the window must end after it starts" in line for line in lines)
    assert any(":7: timeline[0]: needs exactly one of submit, fail_datasource" in line for line in lines)


def test_a_missing_description_is_required(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "seed: 3\n")
    assert line.endswith(":1: description: is required")


def test_cli_validate_exits_non_zero_with_file_line_field_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\nworkers: {middle_managers: 0}\n")
    assert main(["scenario", "validate", str(bad)]) == 1
    assert f"{bad}:2: workers.middle_managers: must be at least 1, not 0" in capsys.readouterr().err
    assert main(["scenario", "validate", "queue-full"]) == 0
    assert "queue-full: The task queue holds 10 tasks" in capsys.readouterr().out


def test_serve_refuses_a_bad_scenario_before_starting_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\narrivals: {every: soon}\n")
    assert main(["serve", "--scenario", str(bad), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "the scenario cannot be used" in err and ":2: arrivals.every: not a duration: 'soon'" in err
    assert "Traceback" not in err
    assert main(["serve", "--scenario", "no-such-scenario", "--port", "1"]) == 2
    assert "one of: demo, failing-ingestion" in capsys.readouterr().err


def test_scenario_list_names_every_built_in_with_its_one_line_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = [
        "demo",
        "failing-ingestion",
        "flaky-overlord",
        "leader-failover",
        "log-growth",
        "queue-full",
        "secured-cluster",
        "slow-tasks",
    ]
    assert builtin_names() == expected
    assert [line.split()[0] for line in out] == expected
    assert all(len(line.split(None, 1)[1]) > 20 for line in out)


def test_scenario_show_prints_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "leader-failover"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# leader-failover: The leader fails over") and "change_leader:" in out


def test_arrivals_may_be_a_list_of_streams_each_checked_where_it_is(tmp_path: Path) -> None:
    lines = problems_of(tmp_path, "description: x\narrivals:\n  - {every: 2m}\n  - {every: 0s, type: compact}\n  - 5\n")
    assert any(":4: arrivals[1].every: must be at least" in line for line in lines)
    assert any(":5: arrivals[2]: must be a mapping (key: value), not a number (5)" in line for line in lines)
    good = tmp_path / "streams.yaml"
    good.write_text("description: x\narrivals:\n  - {every: 2m}\n  - {every: 4m, random: false, type: compact}\n")
    assert [stream.type for stream in load_scenario(str(good)).arrivals] == [None, "compact"]


def test_security_mistakes_name_line_field_and_fix(tmp_path: Path) -> None:
    text = (
        "description: x\n"
        "security:\n"
        "  users:\n"
        "    admin: {password: 'a:b', roles: [admn]}\n"
        "    viewer: {roles: [reader]}\n"
        "    'ops:1': {password: pw}\n"
        "  roles:\n"
        "    admin:\n"
        "      - {resource: {type: datasource, name: '.*'}, action: READ}\n"
        "      - {resource: {type: STATES, name: '('}, action: DELETE}\n"
        "      - {action: READ}\n"
        "    reader: [{resource: {type: STATE, name: x}, action: READ, extra: 1}]\n"
    )
    lines = problems_of(tmp_path, text)
    expected = [
        ":4: security.users.admin.password: a password containing ':' can never log in",
        ":4: security.users.admin.roles: unknown role 'admn'; did you mean 'admin'?",
        ":5: security.users.viewer.password: is required",
        ":6: security.users.ops:1: a user name contains ':' and could never log in",
        ":9: security.roles.admin[0].resource.type: Druid spells it in capitals: 'DATASOURCE'",
        ":10: security.roles.admin[1].resource.type: must be one of DATASOURCE, VIEW",
        ":10: security.roles.admin[1].resource.name: is not a valid regular expression",
        ":10: security.roles.admin[1].action: must be one of READ, WRITE, not 'DELETE'",
        ":11: security.roles.admin[2].resource: is required",
        ":12: security.roles.reader[0].extra: unknown field",
    ]
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert not any("'a:b'" in line for line in lines)  # the password itself is never repeated


def test_a_security_section_needs_users(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "description: x\nsecurity: {roles: {}}\n")
    assert ":2: security.users: needs at least one user" in line


def test_a_password_yaml_reads_as_a_number_is_not_echoed(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "description: x\nsecurity:\n  users:\n    a: {password: 918273}\n")
    assert ":4: security.users.a.password: must be a non-empty string; quote it" in line and "918273" not in line


def test_users_that_are_not_a_mapping_are_one_problem(tmp_path: Path) -> None:
    (line,) = problems_of(tmp_path, "description: x\nsecurity:\n  users: [admin]\n")
    assert ":3: security.users: must be a mapping (key: value), not a list" in line


def test_supervisors_are_validated_like_the_rest(tmp_path: Path) -> None:
    """A supervisor's fields, its troubles and unique ids: each problem names its line and field."""
    text = (
        "description: x\nsupervisors:\n"
        "  - {datasource: wiki, task_count: 0, task_duration: 30s, troubles: [{kind: meteor, at: 1m, for: 1m}]}\n"
        "  - {datasource: wiki, type: pulsar}\n"
        "  - {stream: orphan}\n"
    )
    lines = problems_of(tmp_path, text)
    assert any(":3: supervisors[0].task_count: must be at least 1" in line for line in lines), lines
    assert any(":3: supervisors[0].task_duration: must be at least 1m" in line for line in lines), lines
    assert any(
        "supervisors[0].troubles[0].kind: must be one of stream_unreachable, lag, tasks_failing" in line
        for line in lines
    ), lines
    assert any(":4: supervisors[1].type: must be one of kafka, kinesis" in line for line in lines), lines
    assert any("supervisors[1].id: another supervisor is called 'wiki'" in line for line in lines), lines
    assert any(":5: supervisors[2].datasource: " in line for line in lines), lines
