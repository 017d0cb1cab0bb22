"""Campaigns: fields, members and their status order, and the reports (hand-computed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session

from tests.integration.crm.campaign_helpers import ACTOR, World, day, new_world
from tsunagu.consent.errors import UnknownPurpose
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import campaigns
from tsunagu.crm import service as crm_service
from tsunagu.crm.campaigns import InvalidMemberStatus
from tsunagu.crm.errors import CampaignNotFound, EntityNotFound
from tsunagu.crm.models import CrmCampaign
from tsunagu.vault.service import Vault


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    return new_world(db, vault)


def campaign(world: World, channel: str = "seminar", cost: int = 0, name: str = "") -> CrmCampaign:
    return campaigns.create_campaign(
        world.db,
        world.org.id,
        name=name or f"{channel} campaign",
        channel=channel,
        starts_on=date(2026, 4, 1),
        cost=cost,
    )


class TestCampaignFields:
    def test_unknown_channel_is_refused(self, world: World) -> None:
        with pytest.raises(InvalidInput):
            campaign(world, channel="radio")

    def test_last_day_before_first_day_is_refused(self, world: World) -> None:
        with pytest.raises(InvalidInput):
            campaigns.create_campaign(
                world.db,
                world.org.id,
                name="x",
                channel="mail",
                starts_on=date(2026, 4, 2),
                ends_on=date(2026, 4, 1),
            )

    def test_negative_cost_is_refused(self, world: World) -> None:
        with pytest.raises(InvalidInput):
            campaign(world, cost=-1)

    def test_unknown_purpose_is_refused(self, world: World) -> None:
        with pytest.raises(UnknownPurpose):
            campaigns.create_campaign(
                world.db,
                world.org.id,
                name="x",
                channel="mail",
                starts_on=date(2026, 4, 1),
                purpose="no-such-purpose",
            )

    def test_another_organizations_campaign_is_not_found(
        self, world: World, db: Session, vault: Vault
    ) -> None:
        theirs = campaign(new_world(db, vault))
        with pytest.raises(CampaignNotFound):
            campaigns.get_campaign(world.db, world.org.id, theirs.id)

    def test_update_changes_only_the_given_fields(self, world: World) -> None:
        c = campaign(world, cost=100)
        campaigns.update_campaign(world.db, world.org.id, c.id, cost=250)
        assert (c.cost, c.channel) == (250, "seminar")


class TestMemberStatusOrder:
    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("invited", "registered"),
            ("registered", "attended"),
            ("registered", "no_show"),
            ("attended", "followed_up"),
            ("no_show", "followed_up"),
            ("invited", "attended"),
        ],
    )
    def test_forward_moves_are_allowed(self, old: str, new: str) -> None:
        assert campaigns.status_allowed(old, new)

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("registered", "invited"),
            ("attended", "no_show"),
            ("no_show", "attended"),
            ("followed_up", "attended"),
        ],
    )
    def test_backward_and_sideways_moves_are_refused(self, old: str, new: str) -> None:
        assert not campaigns.status_allowed(old, new)

    def test_a_refused_member_refuses_the_whole_call(self, world: World) -> None:
        c = campaign(world)
        a, b = world.entity(), world.entity()
        campaigns.add_members(world.db, world.org.id, c.id, [a.id, b.id])
        campaigns.set_member_status(world.db, world.org.id, c.id, [a.id], "no_show")
        with pytest.raises(InvalidMemberStatus):
            campaigns.set_member_status(world.db, world.org.id, c.id, [a.id, b.id], "attended")
        statuses = {m.entity_id: m.status for m in campaigns.members(world.db, world.org.id, c.id)}
        assert statuses == {a.id: "no_show", b.id: "invited"}

    def test_a_non_member_cannot_be_given_a_status(self, world: World) -> None:
        c = campaign(world)
        with pytest.raises(EntityNotFound):
            campaigns.set_member_status(
                world.db, world.org.id, c.id, [world.entity().id], "attended"
            )

    def test_adding_a_member_twice_keeps_the_first_touch(self, world: World) -> None:
        c = campaign(world)
        e = world.entity()
        campaigns.add_members(world.db, world.org.id, c.id, [e.id], touched_at=day(1))
        again = campaigns.add_members(world.db, world.org.id, c.id, [e.id], touched_at=day(5))
        (member,) = campaigns.members(world.db, world.org.id, c.id)
        assert (again.added, again.already, member.touched_at) == (0, 1, day(1))

    def test_members_are_listed_by_ref_up_to_the_limit(self, world: World) -> None:
        c = campaign(world)
        b, a = world.entity(ref="B-1"), world.entity(ref="A-1")
        campaigns.add_members(world.db, world.org.id, c.id, [b.id, a.id])
        listed = campaigns.members(world.db, world.org.id, c.id, limit=1)
        assert [m.ref for m in listed] == ["A-1"]

    def test_entities_are_resolved_by_ref(self, world: World) -> None:
        e = world.entity(ref="ACME-1")
        assert campaigns.resolve_entities(world.db, world.org.id, refs=["ACME-1"]) == [e.id]

    def test_another_organizations_entity_cannot_be_resolved(
        self, world: World, db: Session, vault: Vault
    ) -> None:
        theirs = new_world(db, vault).entity()
        with pytest.raises(EntityNotFound):
            campaigns.resolve_entities(world.db, world.org.id, entity_ids=[theirs.id])


@dataclass
class Scenario:
    a: uuid.UUID
    b: uuid.UUID
    c: uuid.UUID


@pytest.fixture
def scenario(world: World) -> Scenario:
    """Seminar A (¥90,000, touched day 10: e1 e2 e3), webinar B (¥50,000, day 20: e2 e4),
    mail C (¥10,000, no members; e3's move to opportunity names it)."""
    org = world.org.id
    a, b = campaign(world, "seminar", 90_000), campaign(world, "webinar", 50_000)
    c = campaign(world, "mail", 10_000)
    e1, e2, e3, e4 = (world.entity() for _ in range(4))
    campaigns.add_members(world.db, org, a.id, [e1.id, e2.id, e3.id], touched_at=day(10))
    campaigns.add_members(world.db, org, b.id, [e2.id, e4.id], touched_at=day(20))
    campaigns.set_member_status(world.db, org, a.id, [e1.id, e2.id], "registered")
    campaigns.set_member_status(world.db, org, a.id, [e1.id], "attended")
    campaigns.set_member_status(world.db, org, a.id, [e2.id], "no_show")
    # e1: two forward moves in A's window; recycle and return are not forward; day 200
    # is past the window
    world.moves(
        e1,
        ("lead", 0),
        ("nurturing", 15),
        ("promising", 50),
        ("recycle", 60),
        ("nurturing", 70),
        ("qualified", 200),
    )
    # e2: lead before any touch; the fast pass on day 25 credits A and B
    world.moves(e2, ("lead", 5), ("qualified", 25))
    # e3: a first event into lead is forward (A); the move naming C credits C only
    world.moves(e3, ("lead", 30))
    crm_service.move(
        world.db, org, e3.id, "opportunity", actor=ACTOR, source="import", at=day(40),
        campaign_id=c.id,
    )  # fmt: skip
    # e4: first event into nurturing (B); dead end is not forward
    world.moves(e4, ("nurturing", 21), ("dead_end", 22))
    return Scenario(a.id, b.id, c.id)


class TestCampaignReport:
    def test_members_by_status(self, world: World, scenario: Scenario) -> None:
        report = campaigns.campaign_report(world.db, world.org.id, scenario.a)
        assert report.members == 3
        assert report.by_status == {
            "invited": 1,
            "registered": 0,
            "attended": 1,
            "no_show": 1,
            "followed_up": 0,
        }

    def test_forward_moves_within_the_window_are_credited(
        self, world: World, scenario: Scenario
    ) -> None:
        a = campaigns.campaign_report(world.db, world.org.id, scenario.a)
        b = campaigns.campaign_report(world.db, world.org.id, scenario.b)
        assert (a.forward_moves, a.entities_moved) == (4, 3)
        assert (b.forward_moves, b.entities_moved) == (2, 2)

    def test_cost_per_forward_move(self, world: World, scenario: Scenario) -> None:
        reports = {r.campaign_id: r for r in campaigns.campaign_reports(world.db, world.org.id)}
        assert reports[scenario.a].cost_per_forward_move == 22_500
        assert reports[scenario.b].cost_per_forward_move == 25_000
        assert reports[scenario.c].cost_per_forward_move == 10_000

    def test_a_move_naming_a_campaign_credits_that_campaign_only(
        self, world: World, scenario: Scenario
    ) -> None:
        c = campaigns.campaign_report(world.db, world.org.id, scenario.c)
        assert (c.members, c.forward_moves, c.attributed_moves) == (0, 1, 1)

    def test_a_shorter_window_credits_fewer_moves(self, world: World, scenario: Scenario) -> None:
        a = campaigns.campaign_report(world.db, world.org.id, scenario.a, window_days=10)
        assert a.forward_moves == 1

    def test_a_campaign_without_moves_has_no_cost_per_move(self, world: World) -> None:
        report = campaigns.campaign_report(world.db, world.org.id, campaign(world, cost=5).id)
        assert (report.forward_moves, report.cost_per_forward_move) == (0, None)

    def test_the_window_includes_its_last_instant(self, world: World) -> None:
        c = campaign(world)
        inside, outside = world.entity(), world.entity()
        campaigns.add_members(
            world.db, world.org.id, c.id, [inside.id, outside.id], touched_at=day(0)
        )
        world.moves(inside, ("lead", 90))
        world.moves(outside, ("lead", 90.01))
        report = campaigns.campaign_report(world.db, world.org.id, c.id)
        assert report.forward_moves == 1

    def test_moves_of_other_organizations_are_not_counted(
        self, world: World, db: Session, vault: Vault
    ) -> None:
        c = campaign(world)
        other = new_world(db, vault)
        theirs = other.entity()
        other.moves(theirs, ("lead", 1))
        report = campaigns.campaign_report(world.db, world.org.id, c.id)
        assert report.forward_moves == 0

    def test_window_out_of_range_is_refused(self, world: World) -> None:
        with pytest.raises(InvalidInput):
            campaigns.campaign_reports(world.db, world.org.id, window_days=-1)


class TestChannelMap:
    @pytest.mark.usefixtures("scenario")
    def test_forward_moves_per_channel_and_stage(self, world: World) -> None:
        result = campaigns.channel_map(world.db, world.org.id)
        assert result.counts == {
            "seminar": {"lead": 1, "nurturing": 1, "promising": 1, "qualified": 1},
            "webinar": {"qualified": 1, "nurturing": 1},
            "mail": {"opportunity": 1},
        }

    def test_two_campaigns_of_one_channel_count_a_move_once(self, world: World) -> None:
        first, second = campaign(world, name="one"), campaign(world, name="two")
        e = world.entity()
        for c in (first, second):
            campaigns.add_members(world.db, world.org.id, c.id, [e.id], touched_at=day(1))
        world.moves(e, ("lead", 2))
        result = campaigns.channel_map(world.db, world.org.id)
        assert result.count("seminar", "lead") == 1

    def test_the_map_lists_every_channel_and_main_stage(self, world: World) -> None:
        result = campaigns.channel_map(world.db, world.org.id)
        assert "web_content" in result.channels
        assert result.stages[0] == "lead"
        assert result.count("ads", "won") == 0
