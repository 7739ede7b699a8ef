"""The lab API under idle, slow and too many clients, on 127.0.0.1 with real sockets: a
client that sends nothing, or sends its headers or body too slowly, is disconnected after the
header or body timeout; connections over the cap are answered 503 at once; the agent's thread
count stays bounded and a well-behaved client is still served."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from experiment_kit import LAB_TOKEN, TOKEN_ENV

from matterstack_ops_experiment.http_server import MAX_CONNECTIONS, LabApiServer

MATTERSTACK = Path(sys.executable).parent / "matterstack"


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=10)
    return client


def read_all(client: socket.socket, timeout: float) -> bytes:
    """What the server sends until it closes the connection (or ``timeout`` passes)."""
    client.settimeout(timeout)
    received = b""
    try:
        while chunk := client.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def get_requests(url: str) -> bytes:
    client = connect(url)
    client.sendall(f"GET /requests HTTP/1.0\r\nAuthorization: Bearer {LAB_TOKEN}\r\n\r\n".encode())
    return read_all(client, 10)


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def test_connections_over_the_cap_are_answered_503_and_hold_no_thread(tmp_path):
    # given the lab API with its default limits, and the threads this process runs
    with LabApiServer(tmp_path, LAB_TOKEN, log=lambda line: None) as server:
        before = threading.active_count()

        # when twice the cap of clients connect and send nothing
        idle = [connect(server.url) for _ in range(2 * MAX_CONNECTIONS)]
        time.sleep(0.5)
        during = threading.active_count()
        answers = [read_all(client, 0.2) for client in idle[MAX_CONNECTIONS:]]

        # then only the cap holds threads, and every client over it was told why at once
        assert during - before <= MAX_CONNECTIONS
        for answer in answers:
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.0 503") and b"Retry-After:" in head
            assert f"{MAX_CONNECTIONS} connections" in json.loads(body)["error"]
        for client in idle:
            client.close()


def test_idle_and_slow_clients_are_disconnected_and_the_agent_serves_the_others(tmp_path):
    # given the agent serving the lab API with a 1 s header timeout, a 2 s body timeout and a
    # cap of 6 connections
    agent = subprocess.Popen(
        [str(MATTERSTACK), "experiment", "agent", "--exchange-dir", str(tmp_path),
         "--driver", "matterstack_ops_experiment.simulated:thin_film", "--http-port", "0",
         "--token-env", TOKEN_ENV, "--http-header-timeout", "1", "--http-body-timeout", "2",
         "--http-max-connections", "6", "--stop-after", "60"],
        env={"PATH": "/usr/bin:/bin", TOKEN_ENV: LAB_TOKEN}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = next(line for line in agent.stdout if "lab API listening on" in line).split()[-1]
        baseline = threads_of(agent.pid)

        # when 4 clients send nothing, one trickles its headers, one sends half a body, and
        # 30 more connect meanwhile
        idle = [connect(url) for _ in range(4)]
        trickle, half = connect(url), connect(url)
        half.sendall(f"POST /requests HTTP/1.0\r\nAuthorization: Bearer {LAB_TOKEN}\r\n"
                     f"Idempotency-Key: tok-1\r\nContent-Length: 1000\r\n\r\n{{\"request\"".encode())
        crowd = [connect(url) for _ in range(30)]
        time.sleep(0.3)
        held = threads_of(agent.pid) - baseline
        started = time.monotonic()
        for byte in b"GET /requests HTTP/1.0\r\n":
            try:
                trickle.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        ended = {name: read_all(client, 5) for name, client in (("trickle", trickle), ("half", half))}
        idle_ended = [read_all(client, 5) for client in idle]
        crowd_answers = [read_all(client, 1) for client in crowd]
        waited = time.monotonic() - started

        # then the agent never held more than the cap, each slow client was disconnected by its
        # timeout, the crowd was answered 503, and a well-behaved client is served after
        assert held <= 6
        assert waited < 10
        assert idle_ended == [b""] * 4 and ended["trickle"] == b""
        assert ended["half"] == b"" or b" 408 " in ended["half"].split(b"\r\n")[0]
        # (on a loaded machine a late one may find a slot freed by a timeout, and be disconnected too)
        busy = [answer for answer in crowd_answers if answer.startswith(b"HTTP/1.0 503")]
        assert len(busy) >= len(crowd) - 6 and set(crowd_answers) - set(busy) <= {b""}
        assert get_requests(url).startswith(b"HTTP/1.0 200")
    finally:
        agent.terminate()
        output = agent.communicate(timeout=30)[0]
    assert "Traceback" not in output
