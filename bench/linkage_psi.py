"""Private set intersection (issue 6 item 3): elements/s of ours against ``openmined-psi``.

- **data** — ``n`` items on each side, half of them shared, shaped like what is
  intersected in practice (a normalised e-mail address and a birth date, ``…|YYYY-MM-DD``).
- **ours** — ``tsunagu.linkage.psi``: ECDH over the prime-order subgroup of edwards25519
  with libsodium through PyNaCl (hash-to-group with two Elligator 2 maps, every received
  point validated), both sides in one process: the client's request, the server's
  response with its shuffled set, the client's intersection.
- **anchor** — ``openmined-psi`` (C++; ECDH over P-256): the client's request, the
  server's setup message (``DataStructure.RAW``, so the client learns the exact
  intersection as ours does, false-positive rate 1e-9) and response, the client's
  intersection.  Both use fresh keys every run and one CPU core.

Elements/s = (client items + server items) / seconds of the whole exchange; median of
``repeats`` runs per size; the ratio is ours / openmined (above 1: ours is faster).  Both
results are checked against the true intersection.

Run: ``python -m bench.linkage_psi [--quick]`` (quick: 1,000 per side, one run).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from private_set_intersection.python import DataStructure, client, server

from tsunagu.linkage.psi import intersect


def items(n: int) -> tuple[list[str], list[str], int]:
    """Client and server items (n each, n // 2 shared) and the size of the intersection."""
    start = n // 2

    def item(i: int) -> str:
        return f"user{i * 7919 % 10_000_019}@mail.example.jp|{1940 + i % 60}-{1 + i % 12:02d}-01"

    return [item(i) for i in range(n)], [item(i) for i in range(start, start + n)], n - start


def ours(client_items: list[str], server_items: list[str]) -> int:
    found = intersect([x.encode() for x in client_items], [y.encode() for y in server_items])
    return len(found)


def openmined(client_items: list[str], server_items: list[str]) -> int:
    c = client.CreateWithNewKey(True)
    s = server.CreateWithNewKey(True)
    request = c.CreateRequest(client_items)
    setup = s.CreateSetupMessage(1e-9, len(client_items), server_items, DataStructure.RAW)
    response = s.ProcessRequest(request)
    return len(c.GetIntersection(setup, response))


def _time(
    fn: Callable[[list[str], list[str]], int], a: list[str], b: list[str], expected: int
) -> float:
    gc.collect()
    t = time.perf_counter()
    found = fn(a, b)
    elapsed = time.perf_counter() - t
    if found != expected:
        raise AssertionError(f"{fn.__name__} found {found} items, the truth is {expected}")
    return elapsed


def run(sizes: tuple[int, ...] = (10_000, 100_000), repeats: int = 3) -> dict[str, Any]:
    results = []
    for n in sizes:
        a, b, expected = items(n)
        ours_s, theirs_s = [], []
        for _ in range(repeats):  # interleaved, so both see the same machine load
            ours_s.append(_time(ours, a, b, expected))
            theirs_s.append(_time(openmined, a, b, expected))
        mine, anchor = statistics.median(ours_s), statistics.median(theirs_s)
        elements = 2 * n
        results.append(
            {
                "per_side": n,
                "intersection": expected,
                "ours_s": {"median": mine, "runs": ours_s},
                "openmined_s": {"median": anchor, "runs": theirs_s},
                "ours_elements_per_s": elements / mine,
                "openmined_elements_per_s": elements / anchor,
                "ratio_ours_to_openmined": anchor / mine,
            }
        )
    return {"repeats": repeats, "sizes": results}


def report(result: dict[str, Any]) -> str:
    parts = [
        f"{r['per_side']:,}/side: ours {r['ours_elements_per_s']:,.0f} el/s "
        f"({r['ours_s']['median']:.2f} s), openmined-psi {r['openmined_elements_per_s']:,.0f} "
        f"el/s ({r['openmined_s']['median']:.2f} s), ratio {r['ratio_ours_to_openmined']:.2f}×"
        for r in result["sizes"]
    ]
    return f"linkage_psi (median of {result['repeats']}): " + "; ".join(parts)


def main() -> None:
    from bench.machine import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 per side, one run")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    sizes = tuple(args.sizes or ((1_000,) if args.quick else (10_000, 100_000)))
    repeats = args.repeats or (1 if args.quick else 3)
    res = run(sizes=sizes, repeats=repeats)
    print(report(res))
    print(f"  → {write_result('linkage_psi_quick' if args.quick else 'linkage_psi', res)}")


if __name__ == "__main__":
    main()
