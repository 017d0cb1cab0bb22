"""What happens after a case changes: e-mail notifications and webhook deliveries.

Placeholder interface; the notifications engineer fills it in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from tsunagu.cases.models import Case, Event


def on_event(
    session: Session, case: Case, event: Event, *, notify: Sequence[uuid.UUID] = ()
) -> None:
    """Queue the notifications and webhook deliveries of one timeline event (same
    transaction as the change; sending happens later, outside it)."""
    del session, case, event, notify
