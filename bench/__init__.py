"""Benchmarks of tsunagu, each with an anchor to compare against (``python -m bench``).

- ``import_throughput`` — CSV rows/s imported into a fresh SQLite file through the import
  core (target ≥ 100,000 simple rows/s), against bare ``sqlite3.executemany`` of the same rows;
- ``http_get`` — requests/s and p99 latency of an authenticated ``GET /api/v1/me`` against a
  bare FastAPI app served the same way, as a ratio (goal ≥ 0.6).

Each writes ``bench/results/<name>.json`` with the machine (CPU, cores, Python) and the date.
Timing lives here, never in a test's assertion.
"""
