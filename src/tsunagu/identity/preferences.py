"""Personal preferences of whoever is signed in (staff user or person): for now, the language.

Like every service, these functions take the session first and only flush.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import SUPPORTED_LOCALES
from tsunagu.identity.service import Actor, get_person, get_staff_user


def set_own_locale(session: Session, actor: Actor, locale: str) -> None:
    """Remember ``locale`` as the language of the actor's own account."""
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(SUPPORTED_LOCALES)}")
    if actor.kind == "staff" and actor.user_id is not None:
        get_staff_user(session, actor.user_id).locale = locale
    elif actor.kind == "person" and actor.person_id is not None:
        get_person(session, actor.person_id).locale = locale
    else:
        raise InvalidInput("only a signed-in staff user or person has a language setting")
    session.flush()
