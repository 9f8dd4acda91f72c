"""What a deployment's database holds: an extracted service's has no table of the
monolith's, not even an empty credential table (the monolith alone authenticates)."""

from django.apps import apps
from django.conf import settings

# The credential table: created by blipay_api's first migration, the model now identity's.
MONOLITH_ONLY = {("identity", "credential"), ("blipay_api", "credential")}


class DeploymentRouter:
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: object) -> bool | None:
        if settings.BLIPAY_SERVICE and (app_label, model_name) in MONOLITH_ONLY:
            return False
        return None


def monolith_tables(present: list[str]) -> list[str]:
    """The tables of ``present`` that belong to the monolith and not to this service."""
    others = [f"{module}_" for module in settings.MODULES if module not in settings.BLIPAY_MODULES]
    only = {apps.get_model("identity", "credential")._meta.db_table}
    return sorted(t for t in present if t.startswith(("strangler_", *others)) or t in only)
