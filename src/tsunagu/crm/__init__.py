"""THE MODEL: the sales-to-renewal pipeline (``tsunagu.crm``).

Entities (companies, contacts, deals) move through an organization's stage model —
marketing → inside sales → field sales → customer success, with ``recycle`` and ``dead_end``
beside the main line.  Every move is a *transition event*; the current stage is derived
from the events and never edited.  On the events the domain computes, in DuckDB, flow and
balance per stage over time, conversion, time in stage, win rates, customer-success rates,
trends and the one bottleneck; campaigns and handoff feedback close the loop between the
departments.

Modules: ``stages`` (the pure stage model), ``models`` (tables), ``service`` (the model,
entities, moves), ``importing`` (transitions CSV), ``metrics`` (DuckDB), ``campaigns``,
``handoffs``, ``activities``, and the adapters ``endpoints``/``pages``/``cli``.

Contacts are persons of the vault: the CRM keeps a person's id only, and reads contact
details through the consent decision point.
"""
