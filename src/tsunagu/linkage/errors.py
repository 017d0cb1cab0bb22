"""Errors of collaborations (each says what a person can do about it)::

NotFound ── CollaborationNotFound (404)      — also for another tenant's collaboration
PermissionDenied ── NotParticipant (403)     — the action belongs to the other side
Conflict ── CollaborationNotActive (409)     — proposed, ended or expired
        ── TermsChanged (409)                — accepted a version that is not current
        ── AlreadyAccepted (409)
        ── DatasetMissing (409)              — an upload must come first
        ── NoMatchRun (409)
        ── MembersFixed (409)                — the member list a match ran on stays
        ── BudgetExhausted (409)             — a noisy question would overspend ε
InvalidInput ── InvalidAgreement (422)
             ── RulesInvalid (422)           — the agreement's analysis rules are malformed
"""

from __future__ import annotations

from tsunagu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class CollaborationNotFound(NotFound):
    code = "collaboration_not_found"


class NotParticipant(PermissionDenied):
    code = "not_participant_role"


class CollaborationNotActive(Conflict):
    code = "collaboration_not_active"


class TermsChanged(Conflict):
    code = "terms_changed"


class AlreadyAccepted(Conflict):
    code = "already_accepted"


class DatasetMissing(Conflict):
    code = "dataset_missing"


class NoMatchRun(Conflict):
    code = "no_match_run"


class MembersFixed(Conflict):
    """The member list a match ran on stays as it was under that version of the terms:
    swapping one member in and asking again would isolate that person."""

    code = "members_fixed"


class InvalidAgreement(InvalidInput):
    code = "invalid_agreement"


__all__ = [
    "AlreadyAccepted",
    "CollaborationNotActive",
    "CollaborationNotFound",
    "DatasetMissing",
    "InvalidAgreement",
    "NoMatchRun",
    "NotParticipant",
    "TermsChanged",
]


class RulesInvalid(InvalidInput):
    """The analysis rules of an agreement are malformed."""

    code = "rules_invalid"
    title = "Invalid analysis rules"


class BudgetExhausted(Conflict):
    """A noisy query would spend more privacy budget (ε) than the agreement has left."""

    code = "budget_exhausted"
    title = "Privacy budget exhausted"
