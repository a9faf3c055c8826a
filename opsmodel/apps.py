import time

from django.apps import AppConfig


class OpsmodelConfig(AppConfig):
    name = "opsmodel"
    verbose_name = "People and access"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(mark_session_seen, dispatch_uid="opsmodel-session-seen")


def mark_session_seen(sender, request, user, **kwargs) -> None:
    # The inactivity clock starts at login (InactivityTimeoutMiddleware moves it on).
    request.session["seen"] = int(time.time())
