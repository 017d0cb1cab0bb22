"""A throwaway PostgreSQL cluster on 127.0.0.1, started from Debian's ``postgresql``
binaries for the length of the test session.

Debian's ``initdb`` refuses to run as root, so as root the cluster runs as the ``postgres``
user.  When the binaries are missing the caller skips with a line saying what to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries not found: install Debian's `postgresql` package "
    "(sudo apt-get install postgresql) or set TSUNAGU_TEST_POSTGRES_URL"
)


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in candidates:
        if Path(cand, "initdb").exists() and Path(cand, "pg_ctl").exists():
            return Path(cand)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int
    as_postgres_user: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres_user:
            cmd = ["su", "postgres", "-s", "/bin/bash", "-c", " ".join(map(_quote, cmd))]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c unix_socket_directories={self.datadir}"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            opts,
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "start",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start listening")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def start_cluster() -> Cluster | str:
    """A running cluster, or the reason there can be none (to skip with)."""
    bindir = find_bindir()
    if bindir is None:
        return INSTALL_HINT
    as_root = os.geteuid() == 0
    parent = Path(tempfile.mkdtemp(prefix="tsunagu-pg-"))
    datadir = parent / "data"
    if as_root:
        # the postgres user must reach its data directory inside our temporary folder
        os.chmod(parent, 0o755)  # noqa: S103
        subprocess.run(["chown", "postgres:postgres", str(parent)], check=True)
    cluster = Cluster(bindir=bindir, datadir=datadir, port=free_port(), as_postgres_user=as_root)
    cluster.start()
    return cluster
