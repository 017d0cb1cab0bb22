"""JSON API of campaigns and channels (thin: parse, check the caller may, call the service).

Mounted under ``/api/v1``; every endpoint needs an organization's API key, writing needs
the member role.  A campaign or entity of another organization answers 404 exactly as one
that does not exist.

==============================================  ======  ===================================
path                                            role    what
==============================================  ======  ===================================
POST   /crm/campaigns                           member  a campaign (201, the campaign)
GET    /crm/campaigns                           any     the organization's campaigns
GET    /crm/campaigns/{id}                      any     one campaign
PATCH  /crm/campaigns/{id}                      member  change fields
DELETE /crm/campaigns/{id}                      member  delete it and its members (204)
GET    /crm/campaigns/{id}/members              any     members with status and touch
POST   /crm/campaigns/{id}/members              member  add entities (ids or refs) in bulk
PATCH  /crm/campaigns/{id}/members              member  set the status of members in bulk
                                                        (all or none; 422
                                                        ``invalid_member_status``)
GET    /crm/campaigns/{id}/report?window_days=  any     members by status, forward moves,
                                                        cost per forward move
GET    /crm/campaigns/{id}/audience             any     the members that may be contacted
                                                        now for the campaign's purpose
GET    /crm/channels/report?window_days=        any     channel × stage map of forward
                                                        moves
==============================================  ======  ===================================

The audience is one bulk decision of the consent decision point, and every decision is a
ledger entry committed before the answer leaves — so that GET takes the writing session
(``RecordingSession``; ``DbSession`` gives GETs a read-mostly session whose writes are
best-effort).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, model_validator

from tsunagu.consent.service import actor_label
from tsunagu.crm import campaigns
from tsunagu.crm.models import CrmCampaign
from tsunagu.crm.schemas import MAX_AMOUNT, Moment, StrictInput
from tsunagu.identity.dependencies import ApiActor, DbSession, MemberActor
from tsunagu.vault.dependencies import RecordingSession, VaultDep

router = APIRouter(tags=["crm"])

Channel = Literal["seminar", "webinar", "mail", "exhibition", "ads", "web_content"]
MemberStatus = Literal["invited", "registered", "attended", "no_show", "followed_up"]
WindowDays = Annotated[int, Query(ge=0, le=campaigns.MAX_WINDOW_DAYS)]


class _Input(StrictInput):
    """Unknown fields refused, text stripped, no NUL characters (``crm.schemas``)."""


class CampaignCreate(_Input):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    starts_on: date
    ends_on: date | None = None
    cost: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    purpose: str = Field(default="marketing", min_length=1, max_length=63)


class CampaignUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    channel: Channel | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    cost: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    purpose: str | None = Field(default=None, min_length=1, max_length=63)


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    channel: str
    starts_on: date
    ends_on: date | None
    cost: int
    purpose: str
    created_at: datetime


class _Entities(_Input):
    entities: list[uuid.UUID] = Field(default_factory=list, max_length=campaigns.MAX_BULK)
    refs: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=campaigns.MAX_BULK
    )

    @model_validator(mode="after")
    def _some(self) -> _Entities:
        if not self.entities and not self.refs:
            raise ValueError("name at least one entity (entities or refs)")
        return self


class MembersAdd(_Entities):
    status: MemberStatus = "invited"
    #: when the campaign touched them (the invitation); now when absent
    touched_at: Moment | None = None


class MembersUpdate(_Entities):
    status: MemberStatus


class MembersAddedOut(BaseModel):
    added: int
    already: int


class MembersUpdatedOut(BaseModel):
    updated: int


class MemberOut(BaseModel):
    entity: uuid.UUID
    ref: str
    status: str
    touched_at: datetime


class AudienceOut(BaseModel):
    campaign: uuid.UUID
    purpose: str
    members: int
    entities: list[uuid.UUID]


def _out(campaign: CrmCampaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        cost=campaign.cost,
        purpose=campaign.purpose,
        created_at=campaign.created_at,
    )


@router.post("/crm/campaigns", response_model=CampaignOut, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignCreate, actor: MemberActor, db: DbSession) -> CampaignOut:
    return _out(campaigns.create_campaign(db, actor.org_id, **body.model_dump()))


@router.get("/crm/campaigns", response_model=list[CampaignOut])
def list_campaigns(actor: ApiActor, db: DbSession) -> list[CampaignOut]:
    return [_out(c) for c in campaigns.list_campaigns(db, actor.org_id)]


@router.get("/crm/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: uuid.UUID, actor: ApiActor, db: DbSession) -> CampaignOut:
    return _out(campaigns.get_campaign(db, actor.org_id, campaign_id))


@router.patch("/crm/campaigns/{campaign_id}", response_model=CampaignOut)
def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, actor: MemberActor, db: DbSession
) -> CampaignOut:
    given = body.model_dump(exclude_unset=True)
    clear_end = "ends_on" in given and given["ends_on"] is None
    if clear_end:
        del given["ends_on"]
    campaign = campaigns.update_campaign(
        db, actor.org_id, campaign_id, clear_ends_on=clear_end, **given
    )
    return _out(campaign)


@router.delete("/crm/campaigns/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_campaign(campaign_id: uuid.UUID, actor: MemberActor, db: DbSession) -> Response:
    campaigns.delete_campaign(db, actor.org_id, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/crm/campaigns/{campaign_id}/members", response_model=list[MemberOut])
def list_members(campaign_id: uuid.UUID, actor: ApiActor, db: DbSession) -> list[MemberOut]:
    return [
        MemberOut(entity=m.entity_id, ref=m.ref, status=m.status, touched_at=m.touched_at)
        for m in campaigns.members(db, actor.org_id, campaign_id)
    ]


@router.post(
    "/crm/campaigns/{campaign_id}/members",
    response_model=MembersAddedOut,
    status_code=status.HTTP_201_CREATED,
)
def add_members(
    campaign_id: uuid.UUID, body: MembersAdd, actor: MemberActor, db: DbSession
) -> MembersAddedOut:
    campaigns.get_campaign(db, actor.org_id, campaign_id)
    ids = campaigns.resolve_entities(db, actor.org_id, entity_ids=body.entities, refs=body.refs)
    added = campaigns.add_members(
        db, actor.org_id, campaign_id, ids, status=body.status, touched_at=body.touched_at
    )
    return MembersAddedOut(added=added.added, already=added.already)


@router.patch("/crm/campaigns/{campaign_id}/members", response_model=MembersUpdatedOut)
def update_members(
    campaign_id: uuid.UUID, body: MembersUpdate, actor: MemberActor, db: DbSession
) -> MembersUpdatedOut:
    campaigns.get_campaign(db, actor.org_id, campaign_id)
    ids = campaigns.resolve_entities(db, actor.org_id, entity_ids=body.entities, refs=body.refs)
    updated = campaigns.set_member_status(db, actor.org_id, campaign_id, ids, body.status)
    return MembersUpdatedOut(updated=updated)


@router.get("/crm/campaigns/{campaign_id}/report")
def campaign_report(
    campaign_id: uuid.UUID,
    actor: ApiActor,
    db: DbSession,
    window_days: WindowDays = campaigns.DEFAULT_WINDOW_DAYS,
) -> dict[str, Any]:
    return campaigns.campaign_report(
        db, actor.org_id, campaign_id, window_days=window_days
    ).as_json()


@router.get("/crm/campaigns/{campaign_id}/audience", response_model=AudienceOut)
def campaign_audience(
    campaign_id: uuid.UUID, actor: ApiActor, db: RecordingSession, vault: VaultDep
) -> AudienceOut:
    campaign = campaigns.get_campaign(db, actor.org_id, campaign_id)
    result = campaigns.campaign_audience(
        db, vault.pseudonym_key, actor.org_id, campaign_id, actor=actor_label(actor)
    )
    return AudienceOut(
        campaign=campaign.id,
        purpose=campaign.purpose,
        members=result.asked,
        entities=list(result.allowed),
    )


@router.get("/crm/channels/report")
def channels_report(
    actor: ApiActor, db: DbSession, window_days: WindowDays = campaigns.DEFAULT_WINDOW_DAYS
) -> dict[str, Any]:
    return campaigns.channel_map(db, actor.org_id, window_days=window_days).as_json()
