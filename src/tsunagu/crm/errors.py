"""Errors of the CRM domain."""

from tsunagu.core.errors import Conflict, InvalidInput, NotFound


class EntityNotFound(NotFound):
    code = "entity_not_found"


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class TransitionNotFound(NotFound):
    code = "transition_not_found"


class UnknownStage(InvalidInput):
    code = "unknown_stage"


class InvalidTransition(InvalidInput):
    """The stage model does not allow the move, or it is not from the entity's stage."""

    code = "invalid_transition"


class ReasonRequired(InvalidInput):
    """A move to ``lost`` needs a reason (outside imports of history)."""

    code = "reason_required"


class EntityRefTaken(Conflict):
    code = "entity_ref_taken"


class StaleStage(Conflict):
    """Someone moved the entity since the caller looked (the ``from`` stage is stale)."""

    code = "stale_stage"
