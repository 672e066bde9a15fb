"""The production web server (`python -m xip_portal.web_server`, the Procfile's web
process): connections opened together are spread over its workers, and a worker that
dies is replaced."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def listening_workers(server: subprocess.Popen[bytes], port: int) -> set[int]:
    """The server's processes that listen on `port`."""
    workers = set()
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.status == "LISTEN" and c.laddr.port == port for c in connections):
            workers.add(child.pid)
    return workers


def two_listening(
    server: subprocess.Popen[bytes], port: int, besides: set[int] = frozenset()
) -> set[int] | None:
    """The server's two listening workers, once there are two and one is not `besides`."""
    workers = listening_workers(server, port)
    return workers if len(workers) == 2 and workers - besides else None


def until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def test_connections_opened_together_reach_every_worker_and_a_dead_one_is_replaced():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "xip_portal.web_server", "--workers", "2"]
    server = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, env=os.environ.copy())
    try:
        # Given the server with its two workers listening
        workers = until(lambda: two_listening(server, port))
        # When 40 clients connect at once and each is answered
        clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(40)]
        for client in clients:
            client.connect()
        for client in clients:
            client.request("GET", "/static/no-such-file.css")
            assert client.getresponse().read() is not None
        # Then each worker holds some of the connections
        held = {
            pid: sum(
                1
                for c in psutil.Process(pid).net_connections(kind="tcp")
                if c.status == "ESTABLISHED" and c.laddr.port == port
            )
            for pid in workers
        }
        assert all(count > 0 for count in held.values()), held
        assert sum(held.values()) == len(clients)
        for client in clients:
            client.close()
        # When a worker is killed, then another takes its place and the server answers
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        replaced = until(lambda: two_listening(server, port, besides=workers))
        assert dead not in replaced
        answer = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answer.request("GET", "/static/no-such-file.css")
        assert answer.getresponse().status == 404
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    # and SIGTERM stopped every worker with it
    assert server.returncode == 0
