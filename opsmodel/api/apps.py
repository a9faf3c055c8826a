from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "opsmodel.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from opsmodel import mapcache
        from opsmodel import models as base
        from opsmodel.api import (
            fills,  # noqa: F401 (the person page's place for tokens)
            webhooks,
        )
        from opsmodel.api.models import Delivery, Endpoint, Token
        from opsmodel.runs import models as runs
        from processes.models import MetricValue
        from sops import models as sops

        # Webhooks' events, written in the transaction of the change (opsmodel/api/webhooks.py).
        for signal, receiver, uid in [
            (runs.run_started, webhooks.on_run_started, "run_started"),
            (runs.step_done, webhooks.on_step_done, "step_done"),
            (runs.run_finished, webhooks.on_run_finished, "run_finished"),
            (runs.step_given, webhooks.on_step_given, "step_given"),
            (base.saved, webhooks.on_saved, "saved"),
            (sops.suggestion_decided, webhooks.on_suggestion_decided, "suggestion_decided"),
        ]:
            signal.connect(receiver, dispatch_uid=f"webhooks_{uid}")
        # Tokens (used at every call), endpoints and deliveries are on no kept page.
        mapcache.belongs(mapcache.NOWHERE, Token, Endpoint, Delivery)
        post_save.connect(
            webhooks.on_value_saved, sender=MetricValue, dispatch_uid="webhooks_value_saved"
        )
