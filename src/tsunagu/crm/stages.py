"""The stage model of THE MODEL: stages, departments, and which moves are allowed (pure).

The default model (one per organization unless it configures its own) is the four
departments of THE MODEL, on one *main line*::

    marketing          lead → nurturing → promising
    inside sales       qualified
    field sales        opportunity → won            (| lost)
    customer success   onboarding → implementation → adoption → renewal   (| churned)

and the side stages ``recycle`` (parked; returns to ``nurturing`` or a later pre-sale stage
when the contact re-engages) and ``dead_end`` (terminal: students, competitors).

A stage has a *role* when the metrics need to know what it means: ``won``, ``lost``,
``churned``, ``renewal``, ``recycle``, ``dead_end``.  A custom model may rename, relabel
and add stages, but keeps one stage per role (the metrics find them by role, not by key).

Moves allowed by the default model (``StageModel.allows``):

- any forward move along the main line; one that skips a stage is a **fast pass**, and so
  is an entity's first event into a main stage past the first;
- to ``recycle`` or ``dead_end`` from any stage before ``won`` (``lost`` and ``recycle``
  included);
- ``opportunity → lost``, ``lost → recycle``;
- ``recycle → nurturing`` or any later pre-sale stage (a *return*);
- ``renewal → adoption`` (the next term);
- any customer-success stage → ``churned``;
- nothing out of ``dead_end`` or ``churned`` (terminal).

An entity's first event may go into any non-terminal stage.  A custom model lists its
allowed moves explicitly (``extra_moves`` beyond the main line's forward moves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

Department = Literal["marketing", "inside_sales", "field_sales", "customer_success"]
DEPARTMENTS: Final[tuple[Department, ...]] = (
    "marketing",
    "inside_sales",
    "field_sales",
    "customer_success",
)
ROLES: Final = ("won", "lost", "churned", "renewal", "recycle", "dead_end")
Role = Literal["won", "lost", "churned", "renewal", "recycle", "dead_end"]


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: ``position`` is its place on the main line, ``None`` for side stages."""

    key: str
    department: Department
    label_ja: str
    label_en: str
    position: int | None = None
    role: Role | None = None
    terminal: bool = False
    #: the measurable entry criterion, as people read it
    criterion_ja: str = ""
    criterion_en: str = ""
    #: the activity kinds that move an entity into this stage by themselves (see
    #: ``crm.activities``): e.g. ``("material_request", "inquiry")`` for ``promising``
    auto_on: tuple[str, ...] = ()

    @property
    def on_main_line(self) -> bool:
        return self.position is not None

    def label(self, locale: str) -> str:
        return self.label_ja if locale == "ja" else self.label_en


@dataclass(frozen=True, slots=True)
class StageModel:
    """An organization's stages and allowed moves; immutable and cheap to share."""

    stages: tuple[Stage, ...]
    #: moves allowed besides the main line's forward moves, as (from, to) keys
    extra_moves: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError("stage keys must be unique")
        positions = sorted(s.position for s in self.stages if s.position is not None)
        if positions != list(range(len(positions))) or not positions:
            raise ValueError("main-line positions must be 0, 1, 2, … without gaps")
        for role in ROLES:
            holders = [s.key for s in self.stages if s.role == role]
            if len(holders) != 1:
                raise ValueError(f"the model needs exactly one stage with the role {role!r}")
        main = self.main_line
        for role in ("won", "renewal"):
            if self.by_role(role) not in main:  # type: ignore[arg-type]
                raise ValueError(f"the {role} stage must be on the main line")
        won = main.index(self.by_role("won"))
        if won == 0 or won == len(main) - 1:
            raise ValueError("the main line needs stages before and after won")
        for role in ("lost", "churned", "recycle", "dead_end"):
            if self.by_role(role) in main:  # type: ignore[arg-type]
                raise ValueError(f"the {role} stage must be a side stage")
        known = set(keys)
        for a, b in self.extra_moves:
            if a not in known or b not in known:
                raise ValueError(f"the move {a} → {b} names an unknown stage")

    # -- look-ups -------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    @property
    def main_line(self) -> tuple[str, ...]:
        """The main stages in order (``lead`` … ``renewal`` in the default)."""
        main = sorted((s for s in self.stages if s.position is not None), key=_position)
        return tuple(s.key for s in main)

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(s.key == key for s in self.stages)

    def by_role(self, role: Role) -> str:
        """The key of the stage with ``role``."""
        return next(s.key for s in self.stages if s.role == role)

    def position(self, key: str) -> int | None:
        return self.stage(key).position

    @property
    def presale(self) -> tuple[str, ...]:
        """Main stages before ``won`` (where recycle and dead end may come from)."""
        return self.main_line[: self.main_line.index(self.by_role("won"))]

    @property
    def customer_success(self) -> tuple[str, ...]:
        """Main stages after ``won``."""
        return self.main_line[self.main_line.index(self.by_role("won")) + 1 :]

    # -- moves ----------------------------------------------------------------------------

    def allows(self, from_key: str | None, to_key: str) -> bool:
        """May an entity in ``from_key`` (``None``: no event yet) move to ``to_key``?"""
        if to_key not in self:
            return False
        if from_key is None:
            return not self.stage(to_key).terminal
        if from_key not in self or from_key == to_key:
            return False
        if self.stage(from_key).terminal:
            return False
        a, b = self.position(from_key), self.position(to_key)
        if a is not None and b is not None and b > a:
            return True
        return (from_key, to_key) in self.extra_moves

    def is_fast_pass(self, from_key: str | None, to_key: str) -> bool:
        """A forward move along the main line that skips at least one stage."""
        b = self.position(to_key) if to_key in self else None
        if b is None:
            return False
        if from_key is None:
            return b > 0
        a = self.position(from_key) if from_key in self else None
        return a is not None and b > a + 1

    def handoff(self, from_key: str | None, to_key: str) -> tuple[Department, Department] | None:
        """(giving, receiving) department when a forward move crosses departments."""
        if from_key is None or from_key not in self or to_key not in self:
            return None
        a, b = self.stage(from_key), self.stage(to_key)
        if a.position is None or b.position is None or b.position <= a.position:
            return None
        if a.department == b.department:
            return None
        return a.department, b.department


def _position(stage: Stage) -> int:
    return stage.position if stage.position is not None else -1


def _s(
    key: str,
    department: Department,
    ja: str,
    en: str,
    criterion_ja: str,
    criterion_en: str,
    *,
    position: int | None = None,
    role: Role | None = None,
    terminal: bool = False,
    auto_on: tuple[str, ...] = (),
) -> Stage:
    return Stage(
        key=key,
        department=department,
        label_ja=ja,
        label_en=en,
        position=position,
        role=role,
        terminal=terminal,
        criterion_ja=criterion_ja,
        criterion_en=criterion_en,
        auto_on=auto_on,
    )


DEFAULT_STAGES: Final[tuple[Stage, ...]] = (
    _s("lead", "marketing", "リード", "Lead",
       "連絡先を取得した", "Contact details obtained", position=0),
    _s("nurturing", "marketing", "育成中", "Nurturing",
       "ターゲットメールをクリックしサイトを訪問した", "Clicked a targeted mail and visited",
       position=1, auto_on=("mail_click", "site_visit")),
    _s("promising", "marketing", "有望", "Promising",
       "資料請求・問い合わせがあった", "Asked for material or inquired",
       position=2, auto_on=("material_request", "inquiry")),
    _s("qualified", "inside_sales", "商談化", "Qualified",
       "アポイントを設定し営業へ引き渡した", "Appointment set and handed to sales",
       position=3, auto_on=("appointment",)),
    _s("opportunity", "field_sales", "商談", "Opportunity",
       "初回商談を実施した", "First sales meeting held", position=4),
    _s("won", "field_sales", "受注", "Won",
       "契約を締結した", "Contract signed", position=5, role="won"),
    _s("onboarding", "customer_success", "オンボーディング", "Onboarding",
       "キックオフを実施した", "Kick-off held", position=6),
    _s("implementation", "customer_success", "導入", "Implementation",
       "本番環境で利用を開始した", "Went live", position=7),
    _s("adoption", "customer_success", "活用", "Adoption",
       "定着の指標を満たした", "Met the adoption measure", position=8),
    _s("renewal", "customer_success", "更新", "Renewal",
       "契約を更新した", "Contract renewed", position=9, role="renewal"),
    _s("lost", "field_sales", "失注", "Lost",
       "失注理由を記録して商談を終了した", "Deal closed with a loss reason", role="lost"),
    _s("churned", "customer_success", "解約", "Churned",
       "解約した", "Cancelled the contract", role="churned", terminal=True),
    _s("recycle", "marketing", "リサイクル", "Recycle",
       "時期を待つ（再度関心を示したら育成へ戻す）",
       "Parked until the contact re-engages", role="recycle"),
    _s("dead_end", "marketing", "対象外", "Dead end",
       "対象外（学生・競合など）", "Not a prospect (students, competitors)",
       role="dead_end", terminal=True),
)  # fmt: skip


def default_moves(stages: Sequence[Stage]) -> frozenset[tuple[str, str]]:
    """The side moves of THE MODEL for a model whose stages carry the standard roles."""
    by_role = {s.role: s.key for s in stages if s.role is not None}
    main = [s.key for s in sorted(stages, key=_position) if s.position is not None]
    won = main.index(by_role["won"])
    presale, after_won = main[:won], main[won + 1 :]
    recycle, dead_end, lost = by_role["recycle"], by_role["dead_end"], by_role["lost"]
    moves: set[tuple[str, str]] = set()
    for key in [*presale, lost, recycle]:
        if key != recycle:
            moves.add((key, recycle))
        moves.add((key, dead_end))
    opportunity = presale[-1]
    moves.add((opportunity, lost))
    for key in presale[1:]:
        moves.add((recycle, key))
    moves.add((by_role["renewal"], after_won[after_won.index(by_role["renewal"]) - 1]))
    for key in after_won:
        moves.add((key, by_role["churned"]))
    return frozenset(moves)


DEFAULT_MODEL: Final = StageModel(DEFAULT_STAGES, default_moves(DEFAULT_STAGES))


def model_from_rows(
    stages: Iterable[Stage], moves: Iterable[tuple[str, str]] | None = None
) -> StageModel:
    """A model from stored rows; without ``moves``, THE MODEL's side moves for its roles."""
    items = tuple(stages)
    return StageModel(items, frozenset(moves) if moves is not None else default_moves(items))


def labels(model: StageModel, locale: str) -> Mapping[str, str]:
    return {s.key: s.label(locale) for s in model.stages}
