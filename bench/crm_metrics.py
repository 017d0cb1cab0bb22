"""Pipeline metrics (issue 7 item 3) against a naive pandas implementation, in the same run.

Target: every metric of ``tsunagu.crm.metrics.compute`` over 10,000,000 transitions of
1,000,000 entities, a two-year range by week, in ≤ 2 s on this machine, and ≥ 20× faster
than the same definitions written in pandas as a data analyst would (groupby / merge).

- **data** — generated with numpy straight into Arrow (not through the database): every
  entity walks THE MODEL's default stages as a Markov chain — funnel drop-offs, fast passes,
  recycle and return, dead ends, lost deals, customer success with renewals (next terms),
  expansion and churn — with exponential dwell times; entities start uniformly over the two
  years (and a quarter before); the histories are cut at the instant that leaves exactly
  ``transitions`` events (a cut in time keeps every history a valid prefix).
- **ours** — ``compute`` (all metrics: flow, balance, conversion step and cumulative, time in
  stage, ageing, win rate with the segment breakdown, customer success, flows, trend and
  the bottleneck); median of ``repeats`` runs.
- **anchor** — ``pandas_metrics`` below: the same definitions in pandas (merges for the
  previous/next event and the conversion window, groupbys per metric); on the full data
  (about two minutes and 5 GB) unless ``anchor_sample`` names fewer entities, in which case
  its time is scaled linearly by transitions (``extrapolated_to_full`` in the result).  On
  the full data the numbers of both are compared (flow, balance, conversion, win rate, time
  in stage: ``agreement``).

Run: ``python -m bench crm_metrics`` (or ``python -m bench.crm_metrics``).
"""

from __future__ import annotations

import gc
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tsunagu.crm.metrics import (
    ENTITIES_SCHEMA,
    TRANSITIONS_SCHEMA,
    Events,
    MetricsQuery,
    compute,
    periods_of,
)
from tsunagu.crm.stages import DEFAULT_MODEL

TARGET_S = 2.0
TARGET_RATIO = 20.0
START = date(2025, 1, 6)
END = date(2027, 1, 4)  # two years of weeks (104)
ZONE = timedelta(hours=9)  # Asia/Tokyo
STAGES = DEFAULT_MODEL.keys
_C = {k: i for i, k in enumerate(STAGES)}
STOP = -1
#: scales the weight of staying put for good (sets how long histories get)
STOP_SHARE = 0.06

#: stage -> [(next stage or STOP, weight)], and the mean dwell in days before the move
CHAIN: dict[str, tuple[list[tuple[str | None, float]], float]] = {
    "lead": (
        [
            ("nurturing", 50),
            ("promising", 6),
            ("qualified", 2),
            ("recycle", 15),
            ("dead_end", 7),
            (None, 20),
        ],
        10,
    ),
    "nurturing": (
        [("promising", 40), ("qualified", 5), ("recycle", 25), ("dead_end", 4), (None, 26)],
        14,
    ),
    "promising": (
        [("qualified", 45), ("opportunity", 6), ("recycle", 25), ("dead_end", 3), (None, 21)],
        10,
    ),
    # the bottleneck of the demo world: qualified → opportunity is weak
    "qualified": ([("opportunity", 55), ("recycle", 25), ("dead_end", 2), (None, 18)], 7),
    "opportunity": ([("won", 32), ("lost", 48), ("recycle", 10), (None, 10)], 21),
    "won": ([("onboarding", 96), (None, 4)], 5),
    "onboarding": ([("implementation", 88), ("churned", 5), (None, 7)], 14),
    "implementation": ([("adoption", 88), ("churned", 6), (None, 6)], 30),
    "adoption": ([("renewal", 80), ("churned", 12), (None, 8)], 60),
    "renewal": ([("adoption", 85), ("churned", 10), (None, 5)], 20),
    "lost": ([("recycle", 60), ("dead_end", 5), (None, 35)], 20),
    "recycle": (
        [("nurturing", 55), ("promising", 12), ("qualified", 3), ("dead_end", 8), (None, 22)],
        30,
    ),
    "dead_end": ([(None, 1)], 1),
    "churned": ([(None, 1)], 1),
}
FIRST: list[tuple[str, float]] = [
    ("lead", 80),
    ("nurturing", 9),
    ("promising", 6),
    ("qualified", 3),
    ("opportunity", 2),
]
SEGMENT_VALUES = {
    "industry": ["製造業", "小売", "金融", "医療", "自治体", "IT", "物流", "建設"],
    "size": ["1-49", "50-299", "300-999", "1000+"],
    "channel": ["seminar", "webinar", "mail", "exhibition", "ads", "web_content"],
    "region": ["北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州"],
}


def _us(d: date) -> int:
    return int((datetime(d.year, d.month, d.day, tzinfo=UTC) - ZONE).timestamp() * 1_000_000)


def generate(entities: int = 1_000_000, transitions: int = 10_000_000, seed: int = 7) -> Events:
    """``transitions`` events of ``entities`` entities walking the default model."""
    rng = np.random.default_rng(seed)
    day = 86_400_000_000
    t0 = _us(START) - 90 * day
    t_end = _us(END)
    probs = np.zeros((len(STAGES), len(STAGES) + 1))  # last column: stop
    dwell = np.ones(len(STAGES))
    for key, (moves, mean) in CHAIN.items():
        for to, w in moves:
            probs[_C[key], -1 if to is None else _C[to]] += w * (STOP_SHARE if to is None else 1)
        probs[_C[key]] /= probs[_C[key]].sum()
        dwell[_C[key]] = mean
    cum = np.cumsum(probs, axis=1)
    first_p = np.array([w for _, w in FIRST]) / sum(w for _, w in FIRST)
    stage = np.array([_C[k] for k, _ in FIRST])[
        np.searchsorted(np.cumsum(first_p), rng.random(entities))
    ].astype(np.int16)
    at = rng.integers(t0, t_end, entities, dtype=np.int64)
    ids = np.arange(entities, dtype=np.int32)
    won_amount = (np.exp(rng.normal(14.5, 0.8, entities)) // 1000 * 1000).astype(np.int64)
    cols: dict[str, list[np.ndarray]] = {"entity": [], "seq": [], "to": [], "at": [], "amount": []}
    contract = np.zeros(entities, dtype=np.int64)
    alive = np.ones(entities, dtype=bool)
    seq = 1
    won_c, renewal_c = _C["won"], _C["renewal"]
    while alive.any():
        idx = np.flatnonzero(alive)
        s = stage[idx]
        amount = np.full(idx.size, -1, dtype=np.int64)
        is_won = s == won_c
        amount[is_won] = won_amount[idx[is_won]]
        contract[idx[is_won]] = won_amount[idx[is_won]]
        is_ren = s == renewal_c
        factor = rng.choice([0.8, 1.0, 1.0, 1.0, 1.2, 1.5], int(is_ren.sum()))
        new = (contract[idx[is_ren]] * factor).astype(np.int64)
        amount[is_ren] = new
        contract[idx[is_ren]] = new
        cols["entity"].append(ids[idx])
        cols["seq"].append(np.full(idx.size, seq, dtype=np.int32))
        cols["to"].append(s)
        cols["at"].append(at[idx])
        cols["amount"].append(amount)
        # the next move
        nxt = (cum[s] < rng.random(idx.size)[:, None]).sum(axis=1)
        stop = nxt >= len(STAGES)
        wait = (rng.exponential(1.0, idx.size) * dwell[s] * day).astype(np.int64) + 60_000_000
        at[idx] += wait
        stage[idx[~stop]] = nxt[~stop].astype(np.int16)
        alive[idx[stop]] = False
        alive[idx[at[idx] >= t_end]] = False
        seq += 1
    entity = np.concatenate(cols["entity"])
    at_all = np.concatenate(cols["at"])
    if at_all.size > transitions:  # cut in time: every history stays a valid prefix
        cutoff = np.partition(at_all, transitions)[transitions]
        keep = at_all < cutoff
    else:
        keep = np.ones(at_all.size, dtype=bool)
    order = np.lexsort((np.concatenate(cols["seq"])[keep], entity[keep]))
    amount_all = np.concatenate(cols["amount"])[keep][order]
    table = pa.table(
        {
            "entity": pa.array(entity[keep][order]),
            "seq": pa.array(np.concatenate(cols["seq"])[keep][order]),
            "to_stage": pa.array(np.concatenate(cols["to"])[keep][order]),
            "at": pa.array(at_all[keep][order]).cast(pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amount_all, mask=amount_all < 0),
        },
        schema=TRANSITIONS_SCHEMA,
    )
    segs = {
        name: pa.DictionaryArray.from_arrays(
            rng.integers(0, len(values), entities).astype(np.int32), pa.array(values)
        ).cast(pa.string())
        for name, values in SEGMENT_VALUES.items()
    }
    owners = pa.array([f"owner-{i:03d}" for i in range(200)])
    ents = pa.table(
        {
            "entity": pa.array(ids),
            **segs,
            "owner": pa.DictionaryArray.from_arrays(
                rng.integers(0, 200, entities).astype(np.int32), owners
            ).cast(pa.string()),
            "amount": pa.array(won_amount),
        },
        schema=ENTITIES_SCHEMA,
    )
    return Events(table, ents, tuple(STAGES))


# --- the anchor: the same definitions in pandas --------------------------------------------


def pandas_metrics(events: Events, query: MetricsQuery) -> dict[str, Any]:
    """Flow, balance, conversion, time in stage, ageing, win rate (+ segments), customer
    success and the flows, written the way an analyst writes pandas."""
    model = DEFAULT_MODEL
    keys = list(events.stages)
    t = events.transitions.to_pandas()
    e = events.entities.to_pandas()
    t["stage"] = t["to_stage"].map(dict(enumerate(keys)))
    t["at"] = t["at"].dt.tz_convert("Asia/Tokyo")
    bounds = [pd.Timestamp(d.isoformat(), tz="Asia/Tokyo") for d in periods_of(query)]
    b0, bn = bounds[0], bounds[-1]
    t = t.sort_values(["entity", "seq"])
    # previous and next event of the entity
    prev = t[["entity", "seq", "stage"]].rename(columns={"stage": "from_stage"})
    prev["seq"] = prev["seq"] + 1
    t = t.merge(prev, on=["entity", "seq"], how="left")
    nxt = t[["entity", "seq", "at"]].rename(columns={"at": "next_at"})
    nxt["seq"] = nxt["seq"] - 1
    t = t.merge(nxt, on=["entity", "seq"], how="left")
    t["period"] = pd.cut(t["at"], bins=bounds, right=False, labels=False)
    inr = t[(t["at"] >= b0) & (t["at"] < bn)]
    flow = inr.groupby(["period", "stage"]).size().unstack(fill_value=0)
    # balance at each period end: the stage of each entity's latest event before it
    balance = {}
    for end in bounds[1:]:
        before = t[t["at"] < end]
        latest = before.groupby("entity").tail(1)
        balance[end] = latest["stage"].value_counts()
    balance_df = pd.DataFrame(balance).T.fillna(0)
    # conversion: each cohort member's furthest main stage within the window
    pos = {k: model.position(k) for k in model.main_line}
    t["pos"] = t["stage"].map(pos)
    cohort = inr[inr["stage"].isin(model.main_line)].copy()
    cohort = cohort.groupby(["entity", "stage", "period"], as_index=False)[["seq", "at"]].min()
    later = t[t["pos"].notna()][["entity", "seq", "at", "pos"]].rename(
        columns={"seq": "later_seq", "at": "later_at", "pos": "later_pos"}
    )
    window = pd.Timedelta(days=query.window_days)
    conversion = {}
    for a, b in zip(model.main_line, model.main_line[1:], strict=False):
        c = cohort[cohort["stage"] == a]
        m = c.merge(later, on="entity")
        m = m[(m["later_seq"] > m["seq"]) & (m["later_at"] <= m["at"] + window)]
        reached = m.groupby(["entity", "period"])["later_pos"].max().reset_index()
        conv = reached[reached["later_pos"] >= pos[b]].groupby("period").size()
        conversion[(a, b)] = (c.groupby("period").size(), conv)
    lead = cohort[cohort["stage"] == model.main_line[0]]
    m = lead.merge(later, on="entity")
    m = m[(m["later_seq"] > m["seq"]) & (m["later_at"] <= m["at"] + window)]
    reached = m.groupby(["entity", "period"])["later_pos"].max().reset_index()
    cumulative = {
        b: reached[reached["later_pos"] >= pos[b]].groupby("period").size()
        for b in model.main_line[1:]
    }
    # time in stage and ageing
    closed = t[(t["next_at"] >= b0) & (t["next_at"] < bn)].copy()
    closed["days"] = (closed["next_at"] - closed["at"]).dt.total_seconds() / 86400
    time_in_stage = closed.groupby("stage")["days"].agg(
        median="median", p90=lambda x: x.quantile(0.9), exits="count"
    )
    as_of = pd.Timestamp(query.end.isoformat(), tz="Asia/Tokyo")
    current = t[(t["at"] < as_of) & ~(t["next_at"] < as_of)].copy()
    current["age"] = (as_of - current["at"]).dt.total_seconds() / 86400
    ageing = current.groupby("stage")["age"].agg(
        count="count", median="median", p90=lambda x: x.quantile(0.9)
    )
    # win rate, by period and by segment
    wl = inr[inr["stage"].isin(["won", "lost"])].merge(e, on="entity", suffixes=("", "_entity"))
    wl["amt"] = wl["amount"].fillna(wl["amount_entity"]).fillna(0)
    win_periods = wl.groupby(["period", "stage"])["amt"].agg(["count", "sum"]).unstack()
    by_segment = {
        s: wl.groupby([s, "stage"])["amt"].agg(["count", "sum"]).unstack()
        for s in ("industry", "size", "channel", "region", "owner")
    }
    # customer success: the contract amount before each renewal / churn
    cs_entities = inr[inr["stage"].isin(["renewal", "churned"])]["entity"].unique()
    h = t[t["entity"].isin(cs_entities)].copy()
    h["before"] = h.groupby("entity")["amount"].transform(lambda x: x.ffill().shift(1))
    h = h[(h["at"] >= b0) & (h["at"] < bn) & h["stage"].isin(["renewal", "churned"])]
    h = h.merge(e[["entity", "amount"]], on="entity", suffixes=("", "_entity"))
    h["prior"] = h["before"].fillna(h["amount_entity"]).fillna(0)
    h["now"] = h["amount"].fillna(h["prior"])
    h["expansion"] = (h["now"] - h["prior"]).clip(lower=0)
    h["contraction"] = (h["prior"] - h["now"]).clip(lower=0)
    cs = h.groupby(["period", "stage"])[["now", "prior", "expansion", "contraction"]].sum()
    flows = inr.groupby(["from_stage", "stage"], dropna=False).size()
    return {
        "flow": flow,
        "balance": balance_df,
        "conversion": conversion,
        "cumulative": cumulative,
        "time_in_stage": time_in_stage,
        "ageing": ageing,
        "win_periods": win_periods,
        "by_segment": by_segment,
        "customer_success": cs,
        "flows": flows,
    }


def _agree(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, bool]:
    """Spot checks that both implementations compute the same numbers."""
    flow = theirs["flow"]
    flow_ok = all(
        int(p["flow"].get(k, 0)) == int(flow.loc[i, k]) if i in flow.index and k in flow else True
        for i, p in enumerate(ours["periods"])
        for k in STAGES
    )
    bal = theirs["balance"].reset_index(drop=True)
    balance_ok = all(
        int(p["balance"].get(k, 0)) == int(bal.loc[i, k] if k in bal else 0)
        for i, p in enumerate(ours["periods"])
        for k in STAGES
    )
    conv_ok = True
    for step in ours["conversion"]["steps"]:
        cohort, conv = theirs["conversion"][(step["from"], step["to"])]
        conv_ok &= step["cohort"] == int(cohort.sum()) and step["converted"] == int(conv.sum())
    tis = theirs["time_in_stage"]
    tis_ok = all(
        abs(v["median_days"] - tis.loc[k, "median"]) < 1e-6 and v["exits"] == tis.loc[k, "exits"]
        for k, v in ours["time_in_stage"].items()
    )
    wp = theirs["win_periods"]
    won_ok = ours["win_rate"]["won"] == int(wp[("count", "won")].sum()) and ours["win_rate"][
        "lost"
    ] == int(wp[("count", "lost")].sum())
    return {
        "flow": flow_ok,
        "balance": balance_ok,
        "conversion": conv_ok,
        "time_in_stage": tis_ok,
        "win_rate": won_ok,
    }


def run(
    entities: int = 1_000_000,
    transitions: int = 10_000_000,
    repeats: int = 5,
    anchor_sample: int | None = None,
    anchor_repeats: int = 1,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    events = generate(entities, transitions)
    generate_s = time.perf_counter() - t0
    query = MetricsQuery(START, END, "week")
    compute(events, DEFAULT_MODEL, query)  # warm-up (imports, DuckDB start)
    times = []
    result: dict[str, Any] = {}
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        result = compute(events, DEFAULT_MODEL, query)
        times.append(time.perf_counter() - t)
    ours = statistics.median(times)
    sample = events
    if anchor_sample is not None and anchor_sample < entities:
        keep = pa.compute.less(events.transitions["entity"], anchor_sample)
        sample = Events(
            events.transitions.filter(keep),
            events.entities.slice(0, anchor_sample),
            events.stages,
        )
    anchor_times = []
    theirs: dict[str, Any] = {}
    for _ in range(anchor_repeats):
        gc.collect()
        t = time.perf_counter()
        theirs = pandas_metrics(sample, query)
        anchor_times.append(time.perf_counter() - t)
    anchor = statistics.median(anchor_times)
    scale = events.transitions.num_rows / sample.transitions.num_rows
    anchor_full = anchor * scale
    agreement = (
        _agree(result, theirs) if sample is events else {"note": "compared on the full data only"}
    )
    return {
        "target_s": TARGET_S,
        "target_ratio": TARGET_RATIO,
        "entities": entities,
        "transitions": events.transitions.num_rows,
        "range": {"start": START.isoformat(), "end": END.isoformat(), "period": "week"},
        "periods": len(result["periods"]),
        "generate_s": round(generate_s, 2),
        "compute_s": {"median": ours, "runs": times},
        "pandas_s": {
            "median": anchor,
            "runs": anchor_times,
            "transitions": sample.transitions.num_rows,
            "extrapolated_to_full": scale != 1,
            "full_size_estimate": anchor_full,
        },
        "ratio": anchor_full / ours,
        "meets_target_s": ours <= TARGET_S,
        "meets_target_ratio": anchor_full / ours >= TARGET_RATIO,
        "agreement": agreement,
        "bottleneck": None
        if result["bottleneck"] is None
        else {k: result["bottleneck"][k] for k in ("from", "to", "rate", "target", "cohort")},
    }


def report(result: dict[str, Any]) -> str:
    p = result["pandas_s"]
    how = "extrapolated from a sample" if p["extrapolated_to_full"] else "full size"
    return (
        f"crm_metrics: {result['transitions']:,} transitions of {result['entities']:,} entities, "
        f"{result['periods']} weeks: compute {result['compute_s']['median']:.2f} s "
        f"(target ≤ {TARGET_S} s), pandas {p['full_size_estimate']:.1f} s ({how}), "
        f"{result['ratio']:.0f}× (target ≥ {TARGET_RATIO:.0f}×); agreement {result['agreement']}"
    )


if __name__ == "__main__":
    from bench.machine import write_result

    res = run()
    print(report(res))
    print(f"  → {write_result('crm_metrics', res)}")
