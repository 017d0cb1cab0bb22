"""The third-party verifier of a tsunagu ledger, over its HTTP API alone.

``verify_remote`` checks a running instance: the log's signed checkpoint under a pinned key,
all entries against its root, and the server's own inclusion and consistency proofs.
``RemoteLog`` is the small HTTP client of the ledger API (``urllib``) that the witness uses
too.  This module needs only the standard library, ``merkle`` (standard library) and
``note`` (one Ed25519 library, ``cryptography``): copy those three files to audit a tsunagu
ledger without trusting the rest of tsunagu's code.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tsunagu.ledger import merkle
from tsunagu.ledger.note import Verifier, open_checkpoint

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    size: int
    checkpoints: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)
    bad_leaves: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, index: int | None, problem: str) -> None:
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index
        self.problems.append(problem)


class RemoteError(Exception):
    """The remote log could not be read, or answered something that is not the API."""


@dataclass
class RemoteLog:
    """The HTTP API of a tsunagu ledger (``/api/v1/ledger/…``), over ``urllib`` alone."""

    base_url: str
    api_key: str | None = None
    timeout: float = 30.0

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> bytes:
        url = self.base_url.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        if not url.startswith(("http://", "https://")):
            raise RemoteError(f"not an http(s) URL: {self.base_url}")
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                answer: bytes = resp.read()
                return answer
        except urllib.error.HTTPError as exc:
            detail = " ".join(exc.read().decode(errors="replace").split())[:200]
            raise RemoteError(f"{method} {path} answered {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            raise RemoteError(f"cannot reach {self.base_url}: {exc.reason}") from exc
        except (OSError, ValueError) as exc:
            raise RemoteError(f"cannot reach {self.base_url}: {exc}") from exc

    def get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        return self._request("GET", path, params, None, None)

    def post(self, path: str, body: bytes, content_type: str) -> bytes:
        return self._request("POST", path, None, body, content_type)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return json.loads(self.get(path, params))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RemoteError(f"GET {path} did not answer JSON") from exc

    def get_text(self, path: str) -> str:
        try:
            return self.get(path).decode()
        except UnicodeDecodeError as exc:
            raise RemoteError(f"GET {path} did not answer UTF-8 text") from exc

    def get_hashes(self, path: str, params: dict[str, Any], field_name: str) -> list[bytes]:
        """A JSON answer's list of base64 hashes under ``field_name``."""
        return decode_hashes(self.get_json(path, params), field_name, path)


def decode_hashes(answer: Any, field_name: str, path: str) -> list[bytes]:
    items = answer.get(field_name) if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise RemoteError(f"GET {path} did not answer a {field_name!r} list")
    try:
        return [base64.b64decode(item, validate=True) for item in items]
    except (TypeError, ValueError) as exc:
        raise RemoteError(f"GET {path} answered a hash that is not base64") from exc


def verify_remote(
    remote: RemoteLog, log_vkey: str | None = None, *, progress: Progress | None = None
) -> VerifyReport:
    """Check a running log through its HTTP API alone.

    The signed checkpoint must verify under the log key; every entry up to its size is
    fetched and must produce its root; the server's own inclusion proofs (first, middle and
    last entry) and a consistency proof (half the size to the full size) must verify.

    Without ``log_vkey`` the key the server publishes is used (trust on first use): pin
    the key you were given out of band to rule out a server that lies about its key.
    Raises ``RemoteError`` when the server cannot be read and ``NoteError`` when its
    checkpoint or key does not verify.
    """
    log = Verifier.from_vkey(log_vkey or remote.get_text("/api/v1/ledger/key"))
    checkpoint, _ = open_checkpoint(remote.get_text("/api/v1/ledger/checkpoint"), log)
    report = VerifyReport(size=checkpoint.size, checkpoints=1)
    tree = merkle.MemoryTree()
    while tree.size < checkpoint.size:
        path = "/api/v1/ledger/get-entries"
        page = remote.get_json(path, {"start": tree.size, "end": checkpoint.size - 1})
        entries = page.get("entries") if isinstance(page, dict) else None
        if not isinstance(entries, list):
            raise RemoteError(f"GET {path} did not answer an 'entries' list")
        if not entries:
            report.bad(tree.size, f"the server returned no entry at {tree.size}")
            return report
        for item in entries[: checkpoint.size - tree.size]:
            try:
                data = base64.b64decode(item["leaf_input"], validate=True)
            except (KeyError, TypeError, ValueError) as exc:
                raise RemoteError(f"GET {path} answered a malformed entry") from exc
            tree.append(merkle.leaf_hash(data))
        if progress is not None:
            progress(tree.size, checkpoint.size)
    if tree.root(checkpoint.size) != checkpoint.root:
        report.bad(None, "the entries served do not produce the signed root")
        return report
    for index in sorted({0, checkpoint.size // 2, checkpoint.size - 1}):
        if not 0 <= index < checkpoint.size:
            continue
        leaf = tree.node(0, index)
        path = "/api/v1/ledger/get-proof-by-hash"
        proof = remote.get_json(
            path, {"hash": base64.b64encode(leaf).decode(), "tree_size": checkpoint.size}
        )
        audit_path = decode_hashes(proof, "audit_path", path)
        leaf_index = proof.get("leaf_index")
        if (
            not isinstance(leaf_index, int)
            or not 0 <= leaf_index < checkpoint.size
            or tree.node(0, leaf_index) != leaf
            or not merkle.verify_inclusion(
                leaf, leaf_index, checkpoint.size, audit_path, checkpoint.root
            )
        ):
            report.bad(index, f"the server's inclusion proof for entry {index} does not verify")
    first = checkpoint.size // 2
    if 0 < first < checkpoint.size:
        consistency = remote.get_hashes(
            "/api/v1/ledger/get-sth-consistency",
            {"first": first, "second": checkpoint.size},
            "consistency",
        )
        if not merkle.verify_consistency(
            first, checkpoint.size, tree.root(first), checkpoint.root, consistency
        ):
            report.bad(None, "the server's consistency proof does not verify")
    return report
