"""The demo pipeline of the manufacturer (to be written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from tsunagu.demo.world import StepReport, WorldContext


def crm_step(session: Session, context: WorldContext) -> StepReport:  # noqa: ARG001
    from tsunagu.demo.world import StepReport

    return StepReport("pipeline entities", 0, 0)
