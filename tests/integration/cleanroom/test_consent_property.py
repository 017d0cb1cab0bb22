"""Property: a non-consenting person never influences any released number.

The retailer's non-consenting customers (persons 12–15, three of them on the maker's member
list) get arbitrary extra orders; the whole answer the recipient receives — every released cell,
the persons total and the withheld count, with or without noise — stays identical, because
the consent batch at query time keeps them out of the clean room's tables altogether.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario, staff_actor
from tsunagu.cleanroom import service
from tsunagu.cleanroom.endpoints import answer_out
from tsunagu.core.settings import Settings
from tsunagu.linkage import service as linkage
from tsunagu.linkage.models import Collaboration
from tsunagu.vault.service import Vault

SPEC = {
    "measures": ["persons", "orders", "amount_sum"],
    "dimensions": ["member", "category"],
}
NON_CONSENTING = [i for i in range(scenario.PERSONS) if i not in scenario.CONSENTING]

extra_orders = st.lists(
    st.tuples(
        st.sampled_from(NON_CONSENTING),
        st.sampled_from(["food", "drink", "snack", "toys"]),
        st.integers(min_value=0, max_value=1_000_000),
    ),
    min_size=1,
    max_size=20,
)


def _released(
    db: Session,
    settings: Settings,
    vault: Vault,
    sc: Scenario,
    collab: Collaboration,
    noise: bool,
) -> dict[str, object]:
    """The answer JSON the recipient receives (cells, totals, suppressed), less its ids."""
    answer = service.ask_logged(
        db,
        settings,
        vault.pseudonym_key,
        collaboration_id=collab.id,
        actor=staff_actor(sc.maker, "member"),
        spec_json={**SPEC, "noise": noise},
        seed=3,
    )
    return answer_out(answer).model_dump(mode="json", exclude={"id", "ledger_index"})


class TestNonConsentingPersons:
    @hsettings(
        max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(extra=extra_orders, noise=st.booleans())
    def test_their_orders_change_no_released_number(
        self,
        db: Session,
        settings: Settings,
        vault: Vault,
        extra: list[tuple[int, str, int]],
        noise: bool,
    ) -> None:
        sc = scenario.build(db, vault)
        collab, _ = scenario.matched(db, settings, vault, sc)
        before = _released(db, settings, vault, sc, collab, noise)
        lines = [
            f"X{n},C{i:04d},2026-05-0{1 + n % 9},{category},{amount}"
            for n, (i, category, amount) in enumerate(extra)
        ]
        linkage.upload_orders(
            db,
            settings,
            actor=sc.retailer_admin,
            collaboration_id=collab.id,
            data=sc.orders_csv() + ("\n".join(lines) + "\n").encode(),
        )
        assert _released(db, settings, vault, sc, collab, noise) == before
