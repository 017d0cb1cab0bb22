"""Errors of the ledger domain."""

from tsunagu.core.errors import AppError, Conflict, InvalidInput, NotFound


class LedgerInconsistent(Conflict):
    code = "ledger_inconsistent"


class ProofNotAvailable(InvalidInput):
    code = "proof_not_available"


class LeafNotFound(NotFound):
    code = "leaf_not_found"


class CheckpointNotFound(NotFound):
    code = "checkpoint_not_found"


class CosignatureRejected(AppError):
    status_code = 422
    code = "cosignature_rejected"
    title = "Cosignature rejected"


class CheckpointPending(AppError):
    """The very first checkpoint could not be published yet (another writer held the lock)."""

    status_code = 503
    code = "checkpoint_pending"
    title = "Checkpoint pending"
