"""How `druid-sim record` runs mitmproxy: in this process, with a recorder-only addon chain.

Over real sockets: what the trimmed chain must still do (HTTPS both ways, start-up errors, the user's
mitmproxy config.yaml), and the other way to run the recorder, `mitmdump -s druid_sim/proxy/addon.py`, which
must keep working with the same behaviour.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from druid_sim.cassette import load_cassette
from druid_sim.proxy.testing import record_argv, running_recorder, script_argv
from tests.support.live import free_socket, live_server
from tests.support.upstream import self_signed_certificate, serve

V1 = "/druid/indexer/v1"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    return tmp_path / "mitmproxy"


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    placeholder = free_socket()
    port = placeholder.getsockname()[1]
    placeholder.close()
    return f"http://127.0.0.1:{port}"


def test_druid_sim_record_says_where_to_point_clients_and_counts_as_it_goes(tmp_path: Path, confdir: Path) -> None:
    with (
        live_server() as server,
        running_recorder(record_argv(server.url, tmp_path / "n.jsonl", confdir=confdir)) as proxy,
    ):
        assert proxy.wait_for_output(f"druid-sim: recording {server.url} into .*; point Druid clients at {proxy.url}")
        httpx.get(f"{proxy.url}{V1}/tasks")
        assert proxy.wait_for_output(rf"druid-sim: 1 interaction\(s\) recorded \(last: GET {V1}/tasks → 200\)")
    assert "client connect" not in proxy.output  # mitmproxy's per-connection chatter stays quiet


def test_mitmdump_script_records_the_simulator(tmp_path: Path, confdir: Path) -> None:
    cassette = tmp_path / "script.jsonl"
    with live_server() as server, running_recorder(script_argv(server.url, cassette, confdir=confdir)) as proxy:
        assert proxy.wait_for_output(r"druid-sim: recording .* point Druid clients at")
        assert httpx.get(f"{proxy.url}{V1}/tasks").json() == []
    (interaction,) = load_cassette(cassette).interactions
    assert interaction.request.path == f"{V1}/tasks"
    assert load_cassette(cassette).meta.upstream == server.url


def test_mitmdump_script_names_a_down_upstream_in_its_502(tmp_path: Path, confdir: Path) -> None:
    upstream = closed_port_url()
    with running_recorder(script_argv(upstream, tmp_path / "down.jsonl", confdir=confdir)) as proxy:
        assert proxy.wait_for_output("is not reachable yet")
        response = httpx.get(f"{proxy.url}{V1}/tasks")
    assert response.status_code == 502
    assert upstream in response.text


def test_https_upstream_with_a_self_signed_certificate_needs_insecure(tmp_path: Path, confdir: Path) -> None:
    tls = self_signed_certificate(tmp_path / "tls")
    with live_server() as server, serve(server.app, **tls) as upstream:
        with running_recorder(record_argv(upstream, tmp_path / "strict.jsonl", confdir=confdir)) as proxy:
            refused = httpx.get(f"{proxy.url}{V1}/tasks")
        cassette = tmp_path / "insecure.jsonl"
        with running_recorder(record_argv(upstream, cassette, "--insecure", confdir=confdir)) as proxy:
            accepted = httpx.get(f"{proxy.url}{V1}/tasks")
    assert refused.status_code == 502
    assert "certificate" in refused.text.lower()
    assert accepted.status_code == 200
    assert [i.request.path for i in load_cassette(cassette).interactions] == [f"{V1}/tasks"]


def test_https_clients_are_served_with_a_certificate_from_the_confdir_ca(tmp_path: Path, confdir: Path) -> None:
    cassette = tmp_path / "tls-client.jsonl"
    with live_server() as server, running_recorder(record_argv(server.url, cassette, confdir=confdir)) as proxy:
        trust = ssl.create_default_context(cafile=str(confdir / "mitmproxy-ca-cert.pem"))
        https_url = proxy.url.replace("http://", "https://")
        assert httpx.get(f"{https_url}{V1}/tasks", verify=trust).json() == []
    assert len(load_cassette(cassette).interactions) == 1


def test_forward_proxy_intercepts_https_with_the_confdir_ca(tmp_path: Path, confdir: Path) -> None:
    cassette = tmp_path / "forward-tls.jsonl"
    argv = record_argv(None, cassette, "--proxy-mode", "regular", "--insecure", confdir=confdir)
    tls = self_signed_certificate(tmp_path / "tls")
    with live_server() as server, serve(server.app, **tls) as upstream, running_recorder(argv) as proxy:
        trust = ssl.create_default_context(cafile=str(confdir / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=proxy.url, verify=trust) as client:
            assert client.get(f"{upstream}{V1}/tasks").json() == []
    (interaction,) = load_cassette(cassette).interactions
    assert interaction.request.path == f"{V1}/tasks"


def test_a_port_in_use_stops_the_recorder_with_a_hint_it_can_follow(tmp_path: Path, confdir: Path) -> None:
    taken = free_socket()
    port = taken.getsockname()[1]
    argv = record_argv("http://127.0.0.1:9", tmp_path / "busy.jsonl", confdir=confdir)
    argv[argv.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    finally:
        taken.close()
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "address already in use" in output.lower() and f"127.0.0.1:{port}" in output
    assert "--listen HOST:PORT" in output and "--mode" not in output  # record has no --mode reverse:...
    assert "starting mitmproxy" not in output and "Traceback" not in output


def test_mitmproxys_own_port_hint_is_rewritten_for_record() -> None:
    import logging

    from druid_sim.proxy.master import listen_hint

    record = logging.LogRecord(
        "mitmproxy.addons.proxyserver",
        logging.ERROR,
        __file__,
        1,
        "reverse proxy failed to listen on 127.0.0.1:8889 with [Errno 98] address already in use\n"
        "Try specifying a different port by using `--mode reverse:http://x@8891`.",
        None,
        None,
    )
    assert listen_hint(record)
    assert record.getMessage().endswith("Choose another port with --listen HOST:PORT (0 picks a free one).")
    assert "--mode" not in record.getMessage()


def test_config_yaml_options_of_left_out_addons_are_named_and_the_rest_applies(tmp_path: Path, confdir: Path) -> None:
    confdir.mkdir()
    (confdir / "config.yaml").write_text("anticache: true\nbody_size_limit: '1'\n")
    with (
        live_server() as server,
        running_recorder(record_argv(server.url, tmp_path / "conf.jsonl", confdir=confdir)) as proxy,
    ):
        too_big = httpx.get(f"{proxy.url}{V1}/tasks")  # "[]" is over a body_size_limit of 1 byte
    assert "ignores these options" in proxy.output and "anticache" in proxy.output
    assert too_big.status_code == 502 and "body_size_limit" in too_big.text


def test_a_config_yaml_value_of_the_wrong_type_is_reported_without_a_traceback(tmp_path: Path, confdir: Path) -> None:
    confdir.mkdir()
    (confdir / "config.yaml").write_text("block_global: sometimes\n")
    argv = record_argv("http://127.0.0.1:9", tmp_path / "bad.jsonl", confdir=confdir)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "config.yaml" in result.stderr and "block_global" in result.stderr
    assert "Traceback" not in result.stderr
