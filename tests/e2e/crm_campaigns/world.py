"""The campaign pages' world: an organization with staff, a seminar with two members (one
consenting to marketing, one not), one forward move credited to it; written through the
real services, shared by the TestClient page tests and the browser test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tests.integration.crm.campaign_helpers import World, day
from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.crm import campaigns
from tsunagu.crm.models import CrmCampaign, CrmEntity
from tsunagu.identity.models import StaffUser
from tsunagu.vault.service import Vault


@dataclass(frozen=True)
class CampaignWorld:
    world: World
    admin: StaffUser
    viewer: StaffUser
    seminar: CrmCampaign
    consenting: CrmEntity
    silent: CrmEntity
    password: str = DEFAULT_PASSWORD


def build_campaign_world(
    db: Session, vault: Vault, *, admin_locale: str | None = None
) -> CampaignWorld:
    org = create_org(db, name="つなぐ工業", kind="company")
    admin = create_staff(db, org, role="admin", display_name="田中 一郎")
    admin.locale = admin_locale
    viewer = create_staff(db, org, role="viewer")
    world = World(db, vault, org)
    consenting = world.entity(person=world.person(consent=True), ref=f"ACME-{org.slug}")
    silent = world.entity(person=world.person(consent=False), ref=f"GLOBEX-{org.slug}")
    world.entity(ref=f"INITECH-{org.slug}")
    seminar = campaigns.create_campaign(
        db,
        org.id,
        name="製造業DXセミナー",
        channel="seminar",
        starts_on=date(2026, 4, 1),
        cost=80000,
    )
    campaigns.add_members(db, org.id, seminar.id, [consenting.id, silent.id], touched_at=day(10))
    world.moves(consenting, ("lead", 5), ("promising", 12))
    db.flush()
    return CampaignWorld(world, admin, viewer, seminar, consenting, silent)
