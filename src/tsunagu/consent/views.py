"""The JSON shapes of consents shared by the organization's API and the person's API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tsunagu.consent import service
from tsunagu.consent.models import Consent, ConsentReceipt
from tsunagu.consent.schemas import ConsentDetail, ConsentOut, ReceiptSummary
from tsunagu.core.clock import utcnow
from tsunagu.identity import service as identity_service


def consent_out(session: Session, consent: Consent) -> ConsentOut:
    slugs = {
        org_id: identity_service.get_organization(session, org_id).slug
        for org_id in {consent.recipient_id, consent.recorded_by_id}
        if org_id is not None
    }
    codes = service.purpose_codes(session, {consent.purpose_id})
    return ConsentOut(
        id=consent.id,
        person=consent.person_id,
        recipient=slugs[consent.recipient_id],
        recorded_by=slugs.get(consent.recorded_by_id) if consent.recorded_by_id else None,
        purpose=codes[consent.purpose_id],
        categories=service.consent_categories(session, consent.id),
        state=service.effective_state(consent, utcnow()),
        given_by=consent.given_by,
        method=consent.method,
        given_at=consent.given_at,
        expires_at=consent.expires_at,
        ended_at=consent.ended_at,
        superseded_by=consent.superseded_by_id,
    )


def receipt_summary(row: ConsentReceipt) -> ReceiptSummary:
    return ReceiptSummary(
        id=row.id,
        event=row.event,
        actor=row.actor,
        created_at=row.created_at,
        ledger_index=row.ledger_index,
        sha256=row.digest.hex(),
    )


def consent_detail(session: Session, consent: Consent) -> ConsentDetail:
    """``consent_out`` with the consent's receipts."""
    return ConsentDetail(
        **consent_out(session, consent).model_dump(),
        receipts=[receipt_summary(r) for r in service.receipts_of(session, consent.id)],
    )
