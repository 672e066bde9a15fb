"""The production web server: uvicorn in `--workers` processes, each listening on a socket
of its own on the same port (SO_REUSEPORT), so that the kernel spreads new connections
evenly over the processes.

uvicorn's own `--workers` share one listening socket, and a process's event loop accepts
every connection waiting when it wakes. Clients that open their connections together (a
fleet of bots starting, a load generator) then all land on one process, which serves
every request while the others idle: under the load bench one process took all ten
visitors' and twenty traders' keep-alive connections.

    python -m xip_portal.web_server --host 127.0.0.1 --port 8000 --workers 2

A worker that dies is started again, unless it exited with an error within
STARTUP_SECONDS of its start: a failing start-up would only repeat, so the server stops
with that status. SIGTERM or SIGINT stops the workers (each finishes its requests, as
uvicorn does) and then the server."""

import argparse
import multiprocessing
import signal
import socket
import sys
import time
from typing import Any

APP = "xip_portal.asgi:application"
STARTUP_SECONDS = 10.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) beside the other workers' (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def worker(host: str, port: int, log_level: str) -> None:
    """One worker process: uvicorn serving the ASGI application on its own socket."""
    import uvicorn

    config = uvicorn.Config(APP, host=host, port=port, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    # the port is taken here first (bound, never listening: it gets no connections), so a
    # port in use fails at once rather than in every worker
    try:
        reserved = listening_socket(args.host, args.port)
    except OSError as exc:
        sys.exit(f"cannot listen on {args.host}:{args.port}: {exc}")
    spawn = multiprocessing.get_context("spawn")

    def started() -> tuple[Any, float]:
        process = spawn.Process(target=worker, args=(args.host, args.port, args.log_level))
        process.start()
        return process, time.monotonic()

    status = 0

    def stop(*_: Any) -> None:
        nonlocal status
        status = status or -1

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [started() for _ in range(args.workers)]
    while not status:
        time.sleep(0.5)
        for i, (process, since) in enumerate(workers):
            if process.is_alive():
                continue
            if (process.exitcode or 0) > 0 and time.monotonic() - since < STARTUP_SECONDS:
                status = process.exitcode
                break
            workers[i] = started()
    for process, _ in workers:
        if process.is_alive():
            process.terminate()
    for process, _ in workers:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    reserved.close()
    sys.exit(max(status, 0))


if __name__ == "__main__":
    main()
