"""The clean room: privacy-safe aggregates over linked data, never a row.

A recipient asks for measures (persons, orders, sums and averages of amounts) by the
dimensions a sharing agreement allows. The engine refuses everything else, suppresses
cells with fewer distinct persons than the agreement's minimum, can add differentially
private noise against a tracked budget, and records every query in the ledger as one
entry committing to the set of persons it read.
"""
