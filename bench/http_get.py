"""Requests/s and p99 latency of an authenticated GET on tsunagu against a bare FastAPI app.

Both apps are served the same way — ``python -m uvicorn`` in a subprocess on 127.0.0.1, one
worker, the same flags — and loaded by the same generator in the same run, alternating
rounds so that a noisy neighbour hurts both alike:

- ``tsunagu``: ``GET /api/v1/me`` with ``Authorization: Bearer KEY`` (an admin API key of
  one organization, SQLite database in a temporary ``TSUNAGU_HOME``; the product's defaults
  otherwise, JSON access log included);
- ``tsunagu_db``: ``GET /api/v1/organization`` with the same key — an endpoint that opens
  the request's session, reads a row and commits, as most endpoints do (reported beside);
- ``tsunagu_healthz``: ``GET /healthz`` — the shell (middleware, access log) alone;
- ``bare``: ``GET /ping`` of ``bench/bare_app.py`` (FastAPI, one sync endpoint).

The load generator is ``wrk`` when installed (``apt-get install wrk``), else a small
asyncio HTTP/1.1 keep-alive client in this file; both run a fixed number of connections for
a fixed time.  Where ``taskset`` exists and there are at least two cores, the server is
pinned to one core and the generator to another.  The result is the ratio of the medians
(goal ≥ 0.6).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GOAL_RATIO = 0.6
REPO_ROOT = Path(__file__).resolve().parent.parent
UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--workers",
    "1",
    "--log-level",
    "warning",
    "--no-access-log",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pinning() -> tuple[list[str], list[str]]:
    """(prefix for the server, prefix for the load generator)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def _prepare_tsunagu(home: Path) -> str:
    """A migrated database with one organization; returns an admin API key."""
    from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
    from tsunagu.identity import service

    engine = make_engine(f"sqlite:///{home / 'tsunagu.db'}")
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        org = service.create_organization(session, slug="bench", name="Bench", kind="company")
        _, key = service.create_api_key(session, organization=org, name="bench", role="admin")
    engine.dispose()
    return key


def _wait_until_up(url: str, headers: dict[str, str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own http URL
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout_s} s")
        time.sleep(0.2)


@contextmanager
def _server(args: list[str], env: dict[str, str], prefix: list[str], log: Path) -> Iterator[int]:
    port = _free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "uvicorn", *args, *UVICORN_FLAGS, "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=sink,
        )
        try:
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _error_lines(log: Path, limit: int = 3) -> list[str]:
    """The first lines of a server log that tell of a failure (for the result file)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if '"level": "ERROR"' in line or '"status": 5' in line or "Traceback" in line:
            found.append(line[:500])
            if len(found) == limit:
                break
    return found


# --- load generators ---------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk(
    url: str, headers: dict[str, str], connections: int, seconds: float, prefix: list[str]
) -> dict[str, float]:
    command = [*prefix, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    percentiles = {
        int(p): float(v) * _UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    return {
        "requests": total,
        "failed": int(failed[1]) if failed else 0,
        "rps": rps,
        "p50_ms": percentiles[50],
        "p99_ms": percentiles[99],
    }


async def _client(
    host: str, port: int, request: bytes, stop_at: float, latencies: list[float], failed: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head)[1])  # type: ignore[index]
            await reader.readexactly(length)
            if status != b"200":
                failed.append(int(status))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _python_load(
    url: str, headers: dict[str, str], connections: int, seconds: float
) -> dict[str, float]:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match is not None
    host, port, path = match[1], int(match[2]), match[3]
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    failed: list[int] = []

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(host, port, request, stop_at, latencies, failed) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "failed": len(failed),
        "rps": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def _load(
    url: str, headers: dict[str, str], connections: int, seconds: float, prefix: list[str]
) -> dict[str, float]:
    if shutil.which("wrk"):
        return _wrk(url, headers, connections, seconds, prefix)
    return _python_load(url, headers, connections, seconds)


# --- the benchmark -----------------------------------------------------------------------


def run(
    rounds: int = 3, seconds: float = 8, connections: int = 16, warmup_s: float = 2
) -> dict[str, Any]:
    server_prefix, load_prefix = _pinning()
    generator = "wrk" if shutil.which("wrk") else "python-asyncio"
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-http-") as tmp:
        home = Path(tmp)
        key = _prepare_tsunagu(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
        env.update(
            TSUNAGU_HOME=str(home),
            TSUNAGU_SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106
            PYTHONPATH=str(REPO_ROOT),
        )
        factory = ["--factory", "tsunagu.web.app:create_app"]
        targets: dict[str, tuple[list[str], str, dict[str, str]]] = {
            "bare": (["bench.bare_app:app"], "/ping", {}),
            "tsunagu": (factory, "/api/v1/me", {"Authorization": f"Bearer {key}"}),
            # the same tsunagu server: an authenticated GET that reads the database (a
            # request session, a query, a commit) — what most endpoints cost
            "tsunagu_db": (factory, "/api/v1/organization", {"Authorization": f"Bearer {key}"}),
            # the same tsunagu server: its shell (middleware, logging) without auth or database
            "tsunagu_healthz": (factory, "/healthz", {}),
        }
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        logs = {"bare": home / "bare.log", "tsunagu": home / "tsunagu.log"}
        with (
            _server(targets["bare"][0], env, server_prefix, logs["bare"]) as bare_port,
            _server(factory, env, server_prefix, logs["tsunagu"]) as tsunagu_port,
        ):
            ports = {
                "bare": bare_port,
                "tsunagu": tsunagu_port,
                "tsunagu_db": tsunagu_port,
                "tsunagu_healthz": tsunagu_port,
            }
            urls = {name: f"http://127.0.0.1:{ports[name]}{targets[name][1]}" for name in targets}
            for name in targets:
                _wait_until_up(urls[name], targets[name][2])
                _load(urls[name], targets[name][2], connections, warmup_s, load_prefix)
            for _ in range(rounds):
                for name in targets:
                    samples[name].append(
                        _load(urls[name], targets[name][2], connections, seconds, load_prefix)
                    )
        server_errors = {name: _error_lines(log) for name, log in logs.items()}
    summary: dict[str, Any] = {}
    for name, runs in samples.items():
        summary[name] = {
            "endpoint": targets[name][1],
            "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
            "median_rps": round(statistics.median(r["rps"] for r in runs), 1),
            "median_p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 3),
            "median_p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 3),
            "failed_responses": int(sum(r["failed"] for r in runs)),
        }
    ratio = summary["tsunagu"]["median_rps"] / summary["bare"]["median_rps"]
    return {
        "goal_ratio": GOAL_RATIO,
        "load_generator": generator,
        "connections": connections,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "pinned": bool(server_prefix),
        "server": "python -m uvicorn " + " ".join(UVICORN_FLAGS),
        **summary,
        "rps_ratio": round(ratio, 3),
        "db_rps_ratio": round(
            summary["tsunagu_db"]["median_rps"] / summary["bare"]["median_rps"], 3
        ),
        "healthz_rps_ratio": round(
            summary["tsunagu_healthz"]["median_rps"] / summary["bare"]["median_rps"], 3
        ),
        "p99_ratio": round(
            summary["tsunagu"]["median_p99_ms"] / summary["bare"]["median_p99_ms"], 3
        ),
        "meets_goal": ratio >= GOAL_RATIO,
        "server_errors": server_errors,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"http_get ({result['load_generator']}, {result['connections']} connections, "
        f"median of {result['rounds']} rounds)"
    ]
    for name in ("bare", "tsunagu", "tsunagu_db", "tsunagu_healthz"):
        r = result[name]
        lines.append(
            f"  {name:<16}{r['endpoint']:<22}{r['median_rps']:>9,.0f} req/s"
            f"  p99 {r['median_p99_ms']:.2f} ms"
            + (f"  ({r['failed_responses']} failed responses)" if r["failed_responses"] else "")
        )
    verdict = "meets" if result["meets_goal"] else "misses"
    lines.append(
        f"  ratio {result['rps_ratio']:.2f} ({verdict} the goal of {result['goal_ratio']}); "
        f"with a database read {result['db_rps_ratio']:.2f}"
    )
    return "\n".join(lines)
