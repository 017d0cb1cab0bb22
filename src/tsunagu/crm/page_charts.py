"""The charts of the pipeline pages, laid out from the metrics report (pure: no I/O).

Each ``*_chart`` function turns a part of ``crm.metrics.report``'s dict (the contract of
docs/crm/metrics-contract.md) into an Apache ECharts option — plain JSON, with every
string already in the reader's language — which the page embeds in a
``<script type="application/json">`` block and ``/static/crm-charts.js`` hands to
``echarts.init(…).setOption``.  No function ever reaches the browser: the Content
Security Policy allows no inline script, and none is needed.

Rates are shown as percentages rounded to one decimal (``None`` stays ``None``, a gap in
a line).  The tables beside the charts read the same report, so a chart and its table
can never disagree.

The Sankey of flows must be acyclic for ECharts, while the pipeline is not (recycle →
nurturing → recycle, renewal → adoption).  Every stage therefore has a *rank* (the main
line in order, then lost, recycle, dead end, churned); a flow to a stage of lower or equal
rank goes to a second node of that stage marked "↺" (a return), which has no way out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.crm.stages import StageModel

#: colours of the flows in the Sankey, by kind (told apart by the table as well)
FLOW_COLOURS: Final = {
    "first": "#8c959f",
    "forward": "#0969da",
    "fast_pass": "#bf8700",
    "recycle": "#8250df",
    "return": "#8250df",
    "next_term": "#1a7f37",
    "dead_end": "#cf222e",
    "lost": "#cf222e",
    "churned": "#cf222e",
}
#: side stages ranked after the main line, in this order
SIDE_RANK: Final = ("lost", "recycle", "dead_end", "churned")
#: stages whose balance only grows; their area starts hidden (the legend shows them)
HIDDEN_BALANCE_ROLES: Final = ("dead_end", "churned", "lost")

BALANCE_AXIS = gettext_noop("Entities at the end of the period")
FLOW_AXIS = gettext_noop("Moves into the stage")
NEW_ENTRIES = gettext_noop("New entries")
RETURN_MARK = gettext_noop("%(stage)s ↺")
MEDIAN_DAYS = gettext_noop("Median days")
P90_DAYS = gettext_noop("90th percentile days")
WIN_RATE_COUNT = gettext_noop("Win rate by count")
WIN_RATE_AMOUNT = gettext_noop("Win rate by amount")
RENEWAL_RATE = gettext_noop("Renewal rate")
CHURN_RATE = gettext_noop("Churn rate")
NRR = gettext_noop("Net revenue retention")
REACHED = gettext_noop("Reached within the window")
DAYS = gettext_noop("Days")
FLAG_FLOW = gettext_noop("Moves into %(stage)s")
FLAG_BALANCE = gettext_noop("Balance of %(stage)s")
FLAG_CONVERSION = gettext_noop("Conversion %(from)s → %(to)s")
METRIC_NAMES: Final = {
    "win_rate": WIN_RATE_COUNT,
    "win_rate_amount": WIN_RATE_AMOUNT,
    "renewal_rate": RENEWAL_RATE,
    "churn_rate": CHURN_RATE,
    "nrr": NRR,
}


def percent(rate: float | None) -> float | None:
    """A rate in [0, 1] as a percentage with one decimal (``None`` stays ``None``)."""
    return None if rate is None else round(rate * 100, 1)


def stage_labels(report: Mapping[str, Any], locale: str) -> dict[str, str]:
    """The stage labels of the report's model in ``locale``."""
    field = "label_ja" if locale == "ja" else "label_en"
    return {s["key"]: s[field] for s in report["stages"]}


def _base(**extra: Any) -> dict[str, Any]:
    option: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 56, "right": 24, "top": 48, "bottom": 36, "containLabel": True},
    }
    option.update(extra)
    return option


def _stage_order(report: Mapping[str, Any]) -> list[str]:
    main = sorted(
        (s for s in report["stages"] if s["position"] is not None), key=lambda s: s["position"]
    )
    side = [s for s in report["stages"] if s["position"] is None]
    return [s["key"] for s in [*main, *side]]


def balance_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Balance over time: a stacked area per stage, taken at each period's end."""
    labels = stage_labels(report, locale)
    hidden = {s["key"] for s in report["stages"] if s.get("role") in HIDDEN_BALANCE_ROLES}
    ends = [p["end"] for p in report["periods"]]
    series = [
        {
            "name": labels[key],
            "type": "line",
            "stack": "balance",
            "areaStyle": {},
            "symbol": "none",
            "emphasis": {"focus": "series"},
            "data": [p["balance"].get(key, 0) for p in report["periods"]],
        }
        for key in _stage_order(report)
    ]
    return _base(
        legend={
            "type": "scroll",
            "top": 0,
            "selected": {labels[k]: k not in hidden for k in _stage_order(report)},
        },
        xAxis={"type": "category", "boundaryGap": False, "data": ends},
        yAxis={
            "type": "value",
            "minInterval": 1,
            "name": gettext_for(locale, BALANCE_AXIS),
            "nameLocation": "middle",
            "nameGap": 42,
        },
        series=series,
    )


def flow_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Flow per period: the moves into each stage, one line per stage."""
    labels = stage_labels(report, locale)
    return _base(
        xAxis={"type": "category", "data": [p["start"] for p in report["periods"]]},
        yAxis={
            "type": "value",
            "minInterval": 1,
            "name": gettext_for(locale, FLOW_AXIS),
            "nameLocation": "middle",
            "nameGap": 42,
        },
        series=[
            {
                "name": labels[key],
                "type": "line",
                "data": [p["flow"].get(key, 0) for p in report["periods"]],
            }
            for key in _stage_order(report)
        ],
    )


def stage_ranks(model: StageModel) -> dict[str, int]:
    """The Sankey's order of stages: the main line, then the side stages by role."""
    ranks = {key: i for i, key in enumerate(model.main_line)}
    extra = len(ranks)
    side = sorted(
        (s for s in model.stages if s.position is None),
        key=lambda s: SIDE_RANK.index(s.role) if s.role in SIDE_RANK else len(SIDE_RANK),
    )
    for i, s in enumerate(side):
        ranks[s.key] = extra + i
    return ranks


def sankey_chart(report: Mapping[str, Any], model: StageModel, locale: str) -> dict[str, Any]:
    """The flows between stages (fast pass, recycle, return, dead end …) as a Sankey."""
    labels = stage_labels(report, locale)
    ranks = stage_ranks(model)
    start = gettext_for(locale, NEW_ENTRIES)
    nodes: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []

    def node(name: str) -> str:
        nodes.setdefault(name, {"name": name})
        return name

    for flow in report["flows"]:
        if not flow["count"]:
            continue
        to, fr = flow["to"], flow["from"]
        target_label = labels.get(to, to)
        if fr is None:
            source = node(start)
            target = node(target_label)
        else:
            source = node(labels.get(fr, fr))
            if ranks.get(to, 0) <= ranks.get(fr, 0):
                target = node(gettext_for(locale, RETURN_MARK) % {"stage": target_label})
            else:
                target = node(target_label)
        links.append(
            {
                "source": source,
                "target": target,
                "value": flow["count"],
                "kind": flow["kind"],
                "lineStyle": {"color": FLOW_COLOURS.get(flow["kind"], "#8c959f"), "opacity": 0.45},
            }
        )
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 120,
                "top": 12,
                "bottom": 12,
                "nodeGap": 10,
                "draggable": False,
                "emphasis": {"focus": "adjacency"},
                "label": {"fontSize": 12},
                "data": list(nodes.values()),
                "links": links,
            }
        ],
    }


def funnel_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The cumulative funnel from the first main stage: the share of its cohort that
    reached each later stage within the window (100 % for the first stage itself), up to
    the first stage nobody reached (the table lists them all)."""
    labels = stage_labels(report, locale)
    cumulative = report["conversion"]["cumulative"]
    data: list[dict[str, Any]] = []
    if cumulative:
        first = cumulative[0]["from"]
        data.append(
            {"name": labels.get(first, first), "value": 100.0 if cumulative[0]["cohort"] else 0.0}
        )
        data.extend(
            {"name": labels.get(step["to"], step["to"]), "value": percent(step["rate"]) or 0.0}
            for step in cumulative
        )
        # the stages nobody reached yet would be slivers with their labels piled up
        while len(data) > 2 and not data[-1]["value"] and not data[-2]["value"]:
            data.pop()
    return {
        "animation": False,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c}%"},
        "series": [
            {
                "name": gettext_for(locale, REACHED),
                "type": "funnel",
                "sort": "none",
                "min": 0,
                "max": 100,
                "left": "10%",
                "width": "80%",
                "top": 10,
                "bottom": 10,
                "gap": 2,
                "label": {"show": True, "position": "inside", "formatter": "{b} {c}%"},
                "data": data,
            }
        ],
    }


def conversion_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Step-to-step conversion per cohort period, in percent."""
    labels = stage_labels(report, locale)
    steps = report["conversion"]["steps"]
    starts = [pt["start"] for pt in steps[0]["periods"]] if steps else []
    return _base(
        xAxis={"type": "category", "data": starts},
        yAxis={"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        series=[
            {
                "name": f"{labels.get(s['from'], s['from'])} → {labels.get(s['to'], s['to'])}",
                "type": "line",
                "connectNulls": False,
                "data": [percent(pt["rate"]) for pt in s["periods"]],
            }
            for s in steps
        ],
    )


def time_in_stage_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Median and 90th percentile of the days spent in each stage (closed spans)."""
    labels = stage_labels(report, locale)
    spans = report["time_in_stage"]
    keys = [k for k in _stage_order(report) if k in spans]
    return _base(
        xAxis={"type": "category", "data": [labels[k] for k in keys]},
        yAxis={
            "type": "value",
            "name": gettext_for(locale, DAYS),
            "nameLocation": "middle",
            "nameGap": 42,
        },
        series=[
            {
                "name": gettext_for(locale, MEDIAN_DAYS),
                "type": "bar",
                "data": [_round(spans[k]["median_days"]) for k in keys],
            },
            {
                "name": gettext_for(locale, P90_DAYS),
                "type": "bar",
                "data": [_round(spans[k]["p90_days"]) for k in keys],
            },
        ],
    )


def ageing_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The current balance of each stage by how long it has sat there (stacked bars)."""
    labels = stage_labels(report, locale)
    ageing = report["ageing"]
    keys = [k for k in _stage_order(report) if k in ageing]
    buckets = list(next(iter(ageing.values()))["buckets"]) if ageing else []
    days = gettext_for(locale, DAYS)
    return _base(
        xAxis={"type": "category", "data": [labels[k] for k in keys]},
        yAxis={"type": "value", "minInterval": 1},
        series=[
            {
                "name": f"{bucket} ({days})",
                "type": "bar",
                "stack": "age",
                "data": [ageing[k]["buckets"].get(bucket, 0) for k in keys],
            }
            for bucket in buckets
        ],
    )


def rate_lines(
    periods: Sequence[Mapping[str, Any]], names: Mapping[str, str], locale: str
) -> dict[str, Any]:
    """Rates per period (keys of ``names``) as percentage lines."""
    return _base(
        xAxis={"type": "category", "data": [p["start"] for p in periods]},
        yAxis={"type": "value", "min": 0, "axisLabel": {"formatter": "{value}%"}},
        series=[
            {
                "name": gettext_for(locale, label),
                "type": "line",
                "data": [percent(p.get(key)) for p in periods],
            }
            for key, label in names.items()
        ],
    )


def win_rate_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    return rate_lines(
        report["win_rate"]["periods"],
        {"rate": WIN_RATE_COUNT, "amount_rate": WIN_RATE_AMOUNT},
        locale,
    )


def segment_chart(
    rows: Sequence[Mapping[str, Any]], names: Mapping[str, str], locale: str
) -> dict[str, Any]:
    """Win rates by count and by amount for each value of one segment (horizontal bars)."""
    values = [names.get(r["value"], r["value"]) for r in rows]
    return _base(
        tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}},
        grid={"left": 16, "right": 24, "top": 48, "bottom": 24, "containLabel": True},
        yAxis={"type": "category", "data": values, "inverse": True},
        xAxis={"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        series=[
            {
                "name": gettext_for(locale, WIN_RATE_COUNT),
                "type": "bar",
                "data": [percent(r["rate"]) for r in rows],
            },
            {
                "name": gettext_for(locale, WIN_RATE_AMOUNT),
                "type": "bar",
                "data": [percent(r["amount_rate"]) for r in rows],
            },
        ],
    )


def customer_success_chart(report: Mapping[str, Any], locale: str) -> dict[str, Any]:
    return rate_lines(
        report["customer_success"]["periods"],
        {"renewal_rate": RENEWAL_RATE, "churn_rate": CHURN_RATE, "nrr": NRR},
        locale,
    )


def metric_name(metric: str, labels: Mapping[str, str], locale: str) -> str:
    """A trend series' name as people read it (``flow.lead`` → "Moves into Lead")."""
    kind, _, rest = metric.partition(".")
    if kind == "flow" and rest:
        return gettext_for(locale, FLAG_FLOW) % {"stage": labels.get(rest, rest)}
    if kind == "balance" and rest:
        return gettext_for(locale, FLAG_BALANCE) % {"stage": labels.get(rest, rest)}
    if kind == "conversion" and rest:
        a, _, b = rest.partition(">")
        return gettext_for(locale, FLAG_CONVERSION) % {
            "from": labels.get(a, a),
            "to": labels.get(b, b),
        }
    if metric in METRIC_NAMES:
        return gettext_for(locale, METRIC_NAMES[metric])
    return metric


def is_rate(metric: str) -> bool:
    return metric.startswith("conversion.") or metric in METRIC_NAMES


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


__all__ = [
    "ageing_chart",
    "balance_chart",
    "conversion_chart",
    "customer_success_chart",
    "flow_chart",
    "funnel_chart",
    "is_rate",
    "metric_name",
    "percent",
    "sankey_chart",
    "segment_chart",
    "stage_labels",
    "stage_ranks",
    "time_in_stage_chart",
    "win_rate_chart",
]
