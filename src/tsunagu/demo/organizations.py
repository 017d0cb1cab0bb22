"""The organizations of the demo world — invented names, one per use case of DESIGN.md §2.

- ひかりマート: an e-commerce retailer whose customers' purchases a maker may learn from
  (the retail × maker use case);
- みなもと食品: that manufacturer;
- さくらモータース: a car dealer (car registration, once-only);
- つなぎ野市: a fictional municipality in Saitama (citizen relationship management,
  mobility × health).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsunagu.identity import service as identity
from tsunagu.identity.models import Organization


@dataclass(frozen=True, slots=True)
class DemoOrganization:
    slug: str
    name: str
    kind: str
    #: one line for the demo's printed summary
    role_in_world: str


ORGANIZATIONS = (
    DemoOrganization("hikari-mart", "ひかりマート株式会社", "company", "e-commerce retailer"),
    DemoOrganization("minamoto-foods", "みなもと食品株式会社", "company", "manufacturer"),
    DemoOrganization("sakura-motors", "さくらモータース株式会社", "company", "car dealer"),
    DemoOrganization("tsunagino-city", "つなぎ野市", "municipality", "municipality"),
)


def ensure_organizations(session: Session) -> tuple[dict[str, Organization], int]:
    """The demo organizations by slug, creating the missing ones; also how many were new."""
    found: dict[str, Organization] = {}
    created = 0
    for spec in ORGANIZATIONS:
        org = identity.find_organization_by_slug(session, spec.slug)
        if org is None:
            org = identity.create_organization(
                session, slug=spec.slug, name=spec.name, kind=spec.kind
            )
            created += 1
        found[spec.slug] = org
    return found, created
