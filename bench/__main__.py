"""``python -m bench [NAME …] [--quick]``: run the benchmarks, write bench/results/*.json."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bench import (
    cases_search,
    cleanroom,
    consent_decisions,
    consent_http,
    crm_import,
    crm_metrics,
    http_get,
    import_throughput,
    ledger,
    linkage_pseudonym,
    linkage_psi,
    linkage_quality,
)
from bench.machine import describe, write_result

BENCHMARKS: dict[
    str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str], dict[str, Any]]
] = {
    # name: (run, report, keyword arguments of a --quick run)
    "import_throughput": (
        import_throughput.run,
        import_throughput.report,
        {"rows": 20_000, "repeats": 1},
    ),
    "http_get": (http_get.run, http_get.report, {"rounds": 1, "seconds": 2, "warmup_s": 1}),
    "ledger": (
        ledger.run,
        ledger.report,
        {
            "append_total": 20_000,
            "repeats": 1,
            "proof_size": 20_000,
            "proof_samples": 200,
            "latency_seconds": 2.0,
        },
    ),
    "consent_decisions": (
        consent_decisions.run,
        consent_decisions.report,
        {"persons": 20_000, "repeats": 1, "casbin_sample": 2_000},
    ),
    "consent_http": (
        consent_http.run,
        consent_http.report,
        {"persons": 2_000, "seconds": 2, "rounds": 1, "warmup_s": 1},
    ),
    "cases_search": (cases_search.run, cases_search.report, {"cases": 5_000, "repeats": 3}),
    "cleanroom": (cleanroom.run, cleanroom.report, {"persons": 20_000, "orders": 200_000}),
    "linkage_pseudonym": (
        linkage_pseudonym.run,
        linkage_pseudonym.report,
        {"n": 50_000, "repeats": 1},
    ),
    "linkage_quality": (
        linkage_quality.run,
        linkage_quality.report,
        {"japanese_size": 2000, "japanese_overlap": 1000, "repeats": 1},
    ),
    "linkage_psi": (linkage_psi.run, linkage_psi.report, {"sizes": (1_000,), "repeats": 1}),
    "crm_import": (crm_import.run, crm_import.report, {"rows": 20_000, "repeats": 1}),
    "crm_metrics": (
        crm_metrics.run,
        crm_metrics.report,
        {"entities": 20_000, "transitions": 200_000, "repeats": 1, "anchor_sample": 20_000},
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, to check the benchmarks run"
    )
    args = parser.parse_args(argv)
    machine = describe()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}")
    for name in args.names or list(BENCHMARKS):
        run, report, quick = BENCHMARKS[name]
        result = run(**quick) if args.quick else run()
        if args.quick:
            result["quick"] = True
        path = write_result(name + ("-quick" if args.quick else ""), result)
        print(report(result))
        print(f"  → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
