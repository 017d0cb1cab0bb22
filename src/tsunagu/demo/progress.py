"""How long demo steps report their progress, without tying the demo to a terminal.

The CLI adapts this protocol to a Rich progress bar; tests and library callers pass
``NO_PROGRESS``.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int) -> None:
        """A step named ``label`` begins with ``total`` units of work."""

    def advance(self, amount: int) -> None:
        """``amount`` more units of the current step are done."""


class _NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
