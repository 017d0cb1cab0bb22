"""The manufacturer's B2B pipeline: two years of THE MODEL for みなもと食品.

みなもと食品 sells to businesses (restaurants, retailers, wholesalers, hospitals, hotels,
schools, municipalities …).  ``plan_pipeline`` draws, from the seed alone, a company per
entity (``MFR-000001`` …, with industry, size, channel, region, owner and deal size) and its
history over the two years that end at ``ANCHOR`` (2026-11-27 00:00 JST, fixed: the demo
never depends on the day it is built):

- drop-offs at every step, and entities that simply stay where they are;
- fast passes (web inquiries that start at ``promising``, referrals at ``qualified``,
  engaged contacts that skip a stage);
- ``recycle`` and later returns, ``dead_end`` (students, competitors …), lost deals with
  their reason; won customers going through onboarding, implementation and adoption to a
  renewal each year (amounts expand or contract) — or churning;
- **the bottleneck**: in the last eight weeks (``BOTTLENECK_FROM``) inside sales hands far
  fewer qualified entities to field sales (``qualified → opportunity``), and later; the
  others stay in ``qualified`` or are recycled;
- about thirty campaigns with costs and members, forward moves credited to them,
  activities (a mail click, a visit, a material request …) just before some moves, and the
  receiving department's rating of half the handoffs (worse for entities from ads).

Every move is allowed by ``DEFAULT_MODEL`` and every chain is in time order (events fall
on weekdays between 9:00 and 18:00 JST, at least a day apart).  Ids are UUIDv7-shaped and
drawn from the seed too, so the same seed gives the same rows.

``crm_step`` writes the plan with one executemany per table and chunk
(``core.imports.insert_rows``), five entities per generated person (50,000 for the
default 10,000).  It creates nothing when the manufacturer already has its ``MFR-``
entities.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from math import exp
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tsunagu.core.bulk import collector_paused
from tsunagu.core.clock import TOKYO
from tsunagu.core.imports import insert_rows
from tsunagu.crm.models import (
    CrmActivity,
    CrmCampaign,
    CrmCampaignMember,
    CrmEntity,
    CrmHandoffRating,
    CrmTransition,
)
from tsunagu.identity.models import Membership, PersonLink, StaffUser

if TYPE_CHECKING:
    from tsunagu.demo.world import StepReport, WorldContext

_T = TypeVar("_T")

MANUFACTURER = "minamoto-foods"
REF_PREFIX = "MFR-"
#: entities per generated person: 50,000 for the demo's default 10,000 persons
ENTITIES_PER_PERSON = 5
#: the demo's "today": the pipeline's two years end here (midnight in Tokyo)
ANCHOR: Final = datetime(2026, 11, 27, tzinfo=TOKYO)
DAYS: Final = 730
#: day 0 of the pipeline (midnight in Tokyo, two years before the anchor)
START: Final = ANCHOR - timedelta(days=DAYS)
#: the bottleneck's eight weeks: from this day (index from START) to the anchor
BOTTLENECK_WEEKS = 8
BOTTLENECK_FROM: Final = DAYS - 7 * BOTTLENECK_WEEKS
BOTTLENECK_STEP: Final = ("qualified", "opportunity")
#: persons the manufacturer knows who become contacts of entities (at most)
CONTACTS = 300
CHUNK = 20_000

_MINUTES_PER_DAY = 1440
_OPEN, _HOURS = 9 * 60, 9 * 60
#: 2024-11-27 was a Wednesday (Monday is 0)
_START_WEEKDAY = START.weekday()
_START_UTC: Final = START.astimezone(UTC)
#: when the history was recorded: all at once, at the anchor (one value: bound once)
_RECORDED: Final = ANCHOR.astimezone(UTC)
_START_MS: Final = int(START.timestamp()) * 1000
_ID_BITS: Final = (0x7 << 76) | (0b10 << 62)
_LOW_MASK: Final = (1 << 62) - 1

# --- segments -----------------------------------------------------------------------

INDUSTRIES = (
    ("飲食業", 0.24),
    ("小売業", 0.18),
    ("卸売業", 0.12),
    ("医療・福祉", 0.13),
    ("宿泊業", 0.09),
    ("製造業", 0.11),
    ("教育・学習支援", 0.07),
    ("自治体", 0.06),
)
SIZES = (("1-49名", 0.46), ("50-299名", 0.30), ("300-999名", 0.16), ("1000名以上", 0.08))
#: the median deal (yen) of each size; deals are log-normal around it
MEDIAN_AMOUNT = {"1-49名": 600_000, "50-299名": 2_400_000, "300-999名": 8_000_000,
                 "1000名以上": 25_000_000}  # fmt: skip
#: the yearly churn probability of each size
CHURN = {"1-49名": 0.18, "50-299名": 0.12, "300-999名": 0.08, "1000名以上": 0.05}
ENTITY_CHANNELS = (
    ("web", 0.30),
    ("seminar", 0.14),
    ("exhibition", 0.12),
    ("referral", 0.08),
    ("ads", 0.20),
    ("outbound", 0.16),
)
REGIONS = (
    ("北海道", 0.05),
    ("東北", 0.07),
    ("関東", 0.36),
    ("中部", 0.15),
    ("近畿", 0.17),
    ("中国", 0.06),
    ("四国", 0.03),
    ("九州・沖縄", 0.11),
)

# --- company names ------------------------------------------------------------------

_HEADS = ("東", "西", "南", "北", "中央", "大", "新", "富士", "旭", "朝日", "日之出", "丸",
          "三", "千代田", "若葉", "青葉", "桜", "松", "竹", "梅", "光", "栄", "昭和", "平成",
          "大和", "菱", "山", "川", "高砂", "白鷺", "緑", "星", "明", "瑞穂",
          "豊", "常盤")  # fmt: skip
_TAILS = ("和", "洋", "栄", "進", "光", "陽", "邦", "興", "成", "友", "信", "誠", "輪",
          "葉", "峰", "泉", "原", "野", "田", "島", "橋", "屋", "亭", "里")  # fmt: skip
_PLACES = ("つなぎ野", "さくら台", "みなと", "ひばり野", "あおば", "かもめ", "しらかば",
           "ゆめ野", "はなみず", "こはる")  # fmt: skip
_SUFFIXES = {
    "飲食業": ("フーズ", "ダイニング", "食堂", "フードサービス", "キッチン"),
    "小売業": ("ストア", "商店", "マート", "リテール"),
    "卸売業": ("商事", "物産", "通商", "食品販売"),
    "医療・福祉": ("会", "福祉会", "メディカル"),
    "宿泊業": ("ホテル", "観光", "リゾート", "旅館"),
    "製造業": ("食品工業", "製作所", "工業", "製菓"),
    "教育・学習支援": ("学園", "アカデミー"),
    "自治体": ("市", "町"),
}
_MUNICIPAL_UNITS = ("学校給食センター", "健康福祉部", "子ども未来課", "産業振興課")


def _company_name(rng: random.Random, industry: str) -> str:
    suffix = rng.choice(_SUFFIXES[industry])
    if industry == "自治体":
        return f"{rng.choice(_PLACES)}{suffix} {rng.choice(_MUNICIPAL_UNITS)}"
    stem = rng.choice(_HEADS) + rng.choice(_TAILS)
    if industry == "医療・福祉":
        kind = "社会福祉法人" if suffix == "福祉会" else "医療法人"
        return f"{kind}{stem}{suffix}" if suffix != "メディカル" else f"株式会社{stem}{suffix}"
    if industry == "教育・学習支援":
        return f"学校法人{stem}{suffix}"
    form = rng.random()
    if form < 0.55:
        return f"株式会社{stem}{suffix}"
    if form < 0.9:
        return f"{stem}{suffix}株式会社"
    return f"有限会社{stem}{suffix}"


# --- reasons and comments -----------------------------------------------------------

LOSS_REASONS = (
    ("価格", 0.25),
    ("競合に敗退", 0.22),
    ("時期尚早", 0.15),
    ("予算不足", 0.18),
    ("機能不足", 0.10),
    ("社内稟議が通らず", 0.10),
)
RECYCLE_REASONS = ("時期尚早", "担当者不在", "予算確保待ち", "検討を一旦保留", "連絡がつかない")
DEAD_END_REASONS = ("学生", "競合他社", "重複登録", "個人利用", "取引対象外")
CHURN_REASONS = ("利用が定着せず", "予算削減", "他社製品へ移行", "事業縮小", "担当者の異動")
COMMENTS = {
    1: ("決裁者と一度も話せていない", "ニーズの確認が不十分", "予算感が全く合っていない"),
    2: ("温度感が低い", "課題のヒアリングが浅い", "競合比較の状況が不明"),
    3: ("概ね問題なし", "導入時期の確認をお願いしたい", "担当者情報が一部不足"),
    4: ("要件が整理されていて助かる", "事前資料が充実", "スムーズに引き継げた"),
    5: ("完璧な引き継ぎ", "決裁者同席で初回から話が早い", "課題と予算が明確"),
}
RATING_WEIGHTS = ((4, 0.40), (5, 0.24), (3, 0.25), (2, 0.08), (1, 0.03))
#: handoffs of entities from ads are rated worse (the feedback loop's example)
WORSE_WEIGHTS = ((4, 0.22), (5, 0.06), (3, 0.34), (2, 0.24), (1, 0.14))
WORSE_CHANNEL = "ads"

# --- campaigns ----------------------------------------------------------------------

#: (channel, name pattern, cost range in yen, length in days)
_CAMPAIGN_KINDS: Final = (
    ("seminar", "業務用食材セミナー {season}", (400_000, 1_500_000), 1),
    ("webinar", "ウェビナー: 人手不足を救う調理済み食材 {season}", (100_000, 400_000), 1),
    ("mail", "メールマガジン {season}号", (20_000, 80_000), 1),
    ("exhibition", "展示会出展: 食品産業展 {season}", (2_000_000, 6_000_000), 3),
    ("ads", "リスティング広告 {season}", (600_000, 2_500_000), 45),
    ("web_content", "導入事例コンテンツ {season}", (200_000, 800_000), 60),
)
CAMPAIGNS = 30
#: the share of marketing moves credited to a recent campaign
CREDIT_SHARE = 0.3
CREDIT_WINDOW_DAYS = 45
ACTIVITY_SHARE = 0.05
ACTIVITY_KINDS = {
    "nurturing": ("mail_click", "site_visit"),
    "promising": ("material_request", "inquiry"),
    "qualified": ("appointment",),
}
RATED_STEPS = (("qualified", "opportunity"), ("won", "onboarding"))
RATED_SHARE = 0.5

# --- the moves: (to, probability, mean delay in days); what is left over: stay ----------

Moves = tuple[tuple[str, float, float], ...]
MOVES: Final[dict[str, Moves]] = {
    "lead": (("nurturing", 0.66, 16), ("promising", 0.04, 20), ("recycle", 0.12, 40),
             ("dead_end", 0.06, 10)),
    "nurturing": (("promising", 0.55, 22), ("qualified", 0.04, 20), ("recycle", 0.33, 40),
                  ("dead_end", 0.03, 15)),
    "promising": (("qualified", 0.64, 12), ("opportunity", 0.03, 10), ("recycle", 0.27, 30),
                  ("dead_end", 0.02, 10)),
    "qualified": (("opportunity", 0.70, 9), ("recycle", 0.22, 20), ("dead_end", 0.03, 10)),
    "opportunity": (("won", 0.36, 30), ("lost", 0.46, 35), ("recycle", 0.12, 40),
                    ("dead_end", 0.01, 20)),
    "lost": (("recycle", 0.70, 45), ("dead_end", 0.04, 30)),
    "recycle": (("nurturing", 0.55, 80), ("promising", 0.18, 80), ("qualified", 0.08, 70),
                ("dead_end", 0.06, 60)),
    "won": (("onboarding", 0.97, 12),),
    "onboarding": (("implementation", 0.92, 30), ("churned", 0.04, 40)),
    "implementation": (("adoption", 0.88, 50), ("churned", 0.07, 60)),
    "renewal": (("adoption", 0.97, 25), ("churned", 0.02, 60)),
}  # fmt: skip
#: the bottleneck: qualified entities whose next move would fall in the last eight weeks
BOTTLENECK_MOVES: Final[Moves] = (
    ("opportunity", 0.22, 24),
    ("recycle", 0.22, 20),
    ("dead_end", 0.03, 10),
)
#: the share of first events of a channel that start past ``lead`` (fast passes)
FIRST_STAGE = {"web": (("promising", 0.30),), "referral": (("qualified", 0.60),)}
MARKETING_TARGETS = frozenset(ACTIVITY_KINDS)


@dataclass
class Pipeline:
    """The planned rows of every table, as ``insert_rows`` takes them."""

    campaigns: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)


def at_minute(minute: int) -> datetime:
    """The instant ``minute`` minutes after ``START`` (aware, UTC)."""
    return _START_UTC + timedelta(minutes=minute)


def _weekday(day: int) -> int:
    """The first weekday on or after ``day`` (days from START)."""
    weekday = (_START_WEEKDAY + day) % 7
    return day + (7 - weekday if weekday >= 5 else 0)


def _id(rng: random.Random, minute: int) -> uuid.UUID:
    """A UUIDv7-shaped id for an event ``minute`` minutes after START, drawn from ``rng``."""
    rand = rng.getrandbits(74)
    value = ((_START_MS + minute * 60_000) << 80) | _ID_BITS | ((rand >> 62) << 64)
    made = object.__new__(uuid.UUID)
    # what uuid.UUID(int=...) stores, without its checks: the value is in range (core.ids)
    object.__setattr__(made, "int", value | (rand & _LOW_MASK))
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def _pick(rng: random.Random, table: Sequence[tuple[_T, float]]) -> _T:
    r = rng.random()
    for value, weight in table:
        if r < weight:
            return value
        r -= weight
    return table[-1][0]


def _round(amount: float, unit: int = 10_000) -> int:
    return max(unit, round(amount / unit) * unit)


@dataclass(frozen=True, slots=True)
class _Campaign:
    id: uuid.UUID
    channel: str
    start: int  # minute
    end: int


def _campaigns(
    rng: random.Random, organization_id: uuid.UUID
) -> tuple[list[_Campaign], list[dict[str, Any]]]:
    found: list[_Campaign] = []
    rows: list[dict[str, Any]] = []
    span = DAYS / CAMPAIGNS
    for i in range(CAMPAIGNS):
        channel, pattern, (low, high), length = _CAMPAIGN_KINDS[i % len(_CAMPAIGN_KINDS)]
        day = _weekday(int((i + rng.random() * 0.8) * span))
        start = day * _MINUTES_PER_DAY + rng.choice((10 * 60, 13 * 60, 15 * 60))
        first = START + timedelta(days=day)
        season = f"{first.year}年{first.month}月"
        ends = first + timedelta(days=length - 1)
        cid = _id(rng, start)
        found.append(_Campaign(cid, channel, start, start + length * _MINUTES_PER_DAY))
        rows.append(
            {
                "id": cid,
                "organization_id": organization_id,
                "name": pattern.format(season=season),
                "channel": channel,
                "starts_on": first.date(),
                "ends_on": ends.date(),
                "cost": _round(rng.uniform(low, high)),
                "purpose": "marketing",
                "created_at": at_minute(max(0, start - 30 * _MINUTES_PER_DAY)),
            }
        )
    return found, rows


def plan_pipeline(
    organization_id: uuid.UUID,
    owners: Sequence[uuid.UUID],
    count: int,
    seed: int,
    contacts: Sequence[uuid.UUID] = (),
) -> Pipeline:
    """The manufacturer's pipeline of ``count`` entities, drawn from ``seed`` (pure)."""
    if not owners:
        raise ValueError("the pipeline needs at least one owner")
    # a seeded generator on purpose: the demo must be reproducible, not secret
    rng = random.Random(f"crm-{seed}")  # noqa: S311
    plan = Pipeline()
    campaigns, plan.campaigns = _campaigns(rng, organization_id)
    starts = [c.start for c in campaigns]
    actors = [f"user:{owner}" for owner in owners]
    contact_of: dict[int, uuid.UUID] = {}
    if contacts and count:
        picked = rng.sample(range(count), min(len(contacts), count))
        contact_of = dict(zip(picked, contacts, strict=False))
    credited_members: set[tuple[int, int]] = set()
    created_minutes: list[int] = []
    entity_ids: list[uuid.UUID] = []
    worse_campaigns = {i for i, c in enumerate(campaigns) if c.channel == WORSE_CHANNEL}
    end = DAYS * _MINUTES_PER_DAY
    random_ = rng.random
    gauss = rng.gauss
    for index in range(count):
        industry = _pick(rng, INDUSTRIES)
        size = _pick(rng, SIZES)
        channel = _pick(rng, ENTITY_CHANNELS)
        region = _pick(rng, REGIONS)
        owner_index = rng.randrange(len(owners))
        actor = actors[owner_index]
        deal = _round(MEDIAN_AMOUNT[size] * exp(gauss(0, 0.6)))
        # more entities in later months: the business grows
        x = max(random_(), random_()) if random_() < 0.4 else random_()
        day = _weekday(int(x * (DAYS - 1)))
        if day >= DAYS:
            day = _weekday(0)
        minute = day * _MINUTES_PER_DAY + _OPEN + int(random_() * _HOURS)
        stage = "lead"
        for target, share in FIRST_STAGE.get(channel, ()):
            if random_() < share:
                stage = target
        eid = _id(rng, minute)
        entity_ids.append(eid)
        created_minutes.append(minute)
        events: list[tuple[int, str | None, str, str, int | None, int | None]] = [
            (minute, None, stage, "", None, None)
        ]
        won_day = -1
        term = 0
        amount = deal
        close: date | None = None
        last_campaign: int | None = None
        while True:
            if stage in ("dead_end", "churned"):
                break
            if stage == "adoption":
                term += 1
                due = won_day + 365 * term
                if random_() < CHURN[size]:
                    target, day_next = "churned", due - rng.randrange(0, 60)
                elif random_() < 0.95:
                    target, day_next = "renewal", due - rng.randrange(0, 30)
                else:
                    break
                day_next = max(day_next, day + 1)
            else:
                table = MOVES[stage]
                r = random_()
                target = ""
                mean = 0.0
                for to, p, m in table:
                    if r < p:
                        target, mean = to, m
                        break
                    r -= p
                if not target:
                    break
                day_next = day + 1 + int(mean * exp(gauss(-0.18, 0.6)))
                if stage == BOTTLENECK_STEP[0] and _weekday(day_next) >= BOTTLENECK_FROM:
                    # inside sales is swamped: fewer and later handoffs to field sales
                    r = random_()
                    target = ""
                    for to, p, m in BOTTLENECK_MOVES:
                        if r < p:
                            target, mean = to, m
                            break
                        r -= p
                    if not target:
                        break
                    day_next = max(BOTTLENECK_FROM, day + 1 + int(mean * exp(gauss(-0.18, 0.6))))
            day_next = _weekday(day_next)
            if day_next >= DAYS:
                break
            minute = day_next * _MINUTES_PER_DAY + _OPEN + int(random_() * _HOURS)
            reason = ""
            move_amount: int | None = None
            campaign: int | None = None
            if target == "lost":
                reason = _pick(rng, LOSS_REASONS)
                close = (START + timedelta(days=day_next)).date()
            elif target == "won":
                amount = _round(deal * rng.uniform(0.8, 1.2), 1000)
                move_amount = amount
                won_day = day_next
                term = 0
                close = (START + timedelta(days=day_next)).date()
            elif target == "renewal":
                r = random_()
                if r < 0.2:
                    amount = _round(amount * rng.uniform(1.1, 1.6), 1000)
                elif r < 0.3:
                    amount = _round(amount * rng.uniform(0.6, 0.9), 1000)
                move_amount = amount
            elif target == "recycle":
                reason = rng.choice(RECYCLE_REASONS)
            elif target == "dead_end":
                reason = rng.choice(DEAD_END_REASONS)
            elif target == "churned":
                reason = rng.choice(CHURN_REASONS)
            elif target == "opportunity" and close is None:
                close = (START + timedelta(days=day_next + 30 + rng.randrange(60))).date()
            if target in MARKETING_TARGETS and random_() < CREDIT_SHARE:
                k = bisect_left(starts, minute) - 1
                if k >= 0 and minute - starts[k] < CREDIT_WINDOW_DAYS * _MINUTES_PER_DAY:
                    campaign = k
                    last_campaign = k
            events.append((minute, stage, target, reason, move_amount, campaign))
            stage, day = target, day_next

        plan.entities.append(
            {
                "id": eid,
                "organization_id": organization_id,
                "ref": f"{REF_PREFIX}{index + 1:06d}",
                "name": _company_name(rng, industry),
                "person_id": contact_of.get(index),
                "owner_user_id": owners[owner_index],
                "industry": industry,
                "size": size,
                "channel": channel,
                "region": region,
                "amount": deal,
                "close_date": close,
                "created_at": at_minute(events[0][0]),
                "updated_at": at_minute(events[0][0]),
            }
        )
        worse = channel == WORSE_CHANNEL or last_campaign in worse_campaigns
        for seq, (when, source, target, reason, move_amount, campaign) in enumerate(events, 1):
            at = at_minute(when)
            tid = _id(rng, when)
            plan.transitions.append(
                {
                    "id": tid,
                    "organization_id": organization_id,
                    "entity_id": eid,
                    "seq": seq,
                    "from_stage": source,
                    "to_stage": target,
                    "at": at,
                    "actor": actor,
                    "reason": reason,
                    "amount": move_amount,
                    "source": "demo",
                    "campaign_id": campaigns[campaign].id if campaign is not None else None,
                    "recorded_at": _RECORDED,
                }
            )
            if campaign is not None and (campaign, index) not in credited_members:
                credited_members.add((campaign, index))
                # after the entity came in and before the move the campaign helped
                touched = max(campaigns[campaign].start, events[0][0])
                touched += int(random_() * 0.9 * (when - touched))
                plan.members.append(
                    {
                        "id": _id(rng, touched),
                        "campaign_id": campaigns[campaign].id,
                        "entity_id": eid,
                        "status": "followed_up" if random_() < 0.6 else "attended",
                        "touched_at": at_minute(touched),
                        "updated_at": at,
                    }
                )
            if target in ACTIVITY_KINDS and random_() < ACTIVITY_SHARE:
                done = when - rng.randrange(10, 600)
                plan.activities.append(
                    {
                        "id": _id(rng, done),
                        "organization_id": organization_id,
                        "entity_id": eid,
                        "kind": rng.choice(ACTIVITY_KINDS[target]),
                        "at": at_minute(done),
                        "campaign_id": campaigns[campaign].id if campaign is not None else None,
                        "note": "",
                        "transition_id": None,
                    }
                )
            if (source, target) in RATED_STEPS and random_() < RATED_SHARE:
                rating = _pick(rng, WORSE_WEIGHTS if worse else RATING_WEIGHTS)
                comment = rng.choice(COMMENTS[rating]) if random_() < 0.4 else ""
                rated = min(when + rng.randrange(1, 4) * _MINUTES_PER_DAY, end - 1)
                plan.ratings.append(
                    {
                        "id": _id(rng, rated),
                        "organization_id": organization_id,
                        "transition_id": tid,
                        "rating": rating,
                        "comment": comment,
                        "rated_by": actors[rng.randrange(len(actors))],
                        "rated_at": at_minute(rated),
                    }
                )
    _audience(rng, plan, campaigns, created_minutes, entity_ids, credited_members)
    return plan


def _audience(
    rng: random.Random,
    plan: Pipeline,
    campaigns: Sequence[_Campaign],
    created: list[int],
    entity_ids: Sequence[uuid.UUID],
    taken: set[tuple[int, int]],
) -> None:
    """Members who were invited but not credited with a move (most of any audience)."""
    order = sorted(range(len(created)), key=created.__getitem__)
    created_sorted = [created[i] for i in order]
    statuses = (("invited", 0.40), ("registered", 0.20), ("no_show", 0.15), ("attended", 0.25))
    for k, campaign in enumerate(campaigns):
        known = bisect_left(created_sorted, campaign.start)
        if not known:
            continue
        size = min(known, max(1, len(created) // 100) * rng.randint(1, 3))
        for position in rng.sample(range(known), size):
            index = order[position]
            if (k, index) in taken:
                continue
            taken.add((k, index))
            touched = campaign.start - rng.randrange(1, 14 * _MINUTES_PER_DAY)
            touched = max(touched, created[index] + 1)
            plan.members.append(
                {
                    "id": _id(rng, touched),
                    "campaign_id": campaign.id,
                    "entity_id": entity_ids[index],
                    "status": _pick(rng, statuses),
                    "touched_at": at_minute(touched),
                    "updated_at": at_minute(campaign.end),
                }
            )


def entity_count(person_count: int) -> int:
    """How many entities the demo gives the manufacturer for ``person_count`` persons."""
    return ENTITIES_PER_PERSON * person_count


def existing_entities(session: Session, organization_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(CrmEntity)
            .where(
                CrmEntity.organization_id == organization_id,
                CrmEntity.ref.like(f"{REF_PREFIX}%"),
            )
        )
        or 0
    )


def entity_owners(session: Session, organization_id: uuid.UUID) -> list[uuid.UUID]:
    """The organization's staff who own entities (all roles but viewers), by e-mail."""
    return list(
        session.scalars(
            select(StaffUser.id)
            .join(Membership, Membership.user_id == StaffUser.id)
            .where(Membership.organization_id == organization_id, Membership.role != "viewer")
            .order_by(StaffUser.email)
        )
    )


def known_contacts(session: Session, organization_id: uuid.UUID) -> list[uuid.UUID]:
    """Persons the manufacturer knows (by customer number) who are contacts of entities."""
    return list(
        session.scalars(
            select(PersonLink.person_id)
            .where(PersonLink.organization_id == organization_id)
            .order_by(PersonLink.ref)
            .limit(CONTACTS)
        )
    )


def insert_pipeline(session: Session, plan: Pipeline) -> None:
    """Write ``plan`` with one executemany per table and chunk (flushed, not committed)."""
    session.flush()
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (CrmCampaign, plan.campaigns),
        (CrmEntity, plan.entities),
        (CrmTransition, plan.transitions),
        (CrmCampaignMember, plan.members),
        (CrmActivity, plan.activities),
        (CrmHandoffRating, plan.ratings),
    ]
    for model, rows in tables:
        table: Table = model.__table__
        for start in range(0, len(rows), CHUNK):
            insert_rows(session, table, rows[start : start + CHUNK])


def build_pipeline(session: Session, organization_id: uuid.UUID, *, count: int, seed: int) -> int:
    """Plan and write the pipeline unless the organization has it; return entities created."""
    if existing_entities(session, organization_id):
        return 0
    owners = entity_owners(session, organization_id)
    with collector_paused():
        plan = plan_pipeline(
            organization_id, owners, count, seed, known_contacts(session, organization_id)
        )
        insert_pipeline(session, plan)
    return len(plan.entities)


def crm_step(session: Session, context: WorldContext) -> StepReport:
    from tsunagu.demo.world import StepReport

    organization = context.organizations[MANUFACTURER]
    count = entity_count(context.person_count)
    context.progress.start("pipeline entities", count)
    created = build_pipeline(session, organization.id, count=count, seed=context.seed)
    context.progress.advance(count)
    return StepReport("pipeline entities", count, created)
