"""The metadata Alembic compares against: import every domain's models here."""

from tsunagu.consent import models as _consent_models  # noqa: F401
from tsunagu.core.database import Base
from tsunagu.crm import models as _crm_models  # noqa: F401
from tsunagu.identity import models as _identity_models  # noqa: F401
from tsunagu.ledger import models as _ledger_models  # noqa: F401
from tsunagu.vault import models as _vault_models  # noqa: F401

target_metadata = Base.metadata
