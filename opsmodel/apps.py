import time

from django.apps import AppConfig


class OpsmodelConfig(AppConfig):
    name = "opsmodel"
    verbose_name = "People and access"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db import connections
        from django.db.backends.signals import connection_created

        from opsmodel import mapcache

        user_logged_in.connect(mark_session_seen, dispatch_uid="opsmodel-session-seen")
        place_tables(mapcache)
        # Every write to the map, whoever makes it, changes the stamp of the cached pages.
        connection_created.connect(mapcache.install, dispatch_uid="opsmodel-map-stamp")
        for connection in connections.all(initialized_only=True):
            mapcache.install(None, connection)


def place_tables(mapcache) -> None:
    """What kept pages show of this layer: people and their rights are the map; history,
    password resets and Django's own bookkeeping are on no kept page."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from opsmodel.models import PasswordResetRequest, Revision, User

    mapcache.belongs(mapcache.MAP, User, Group, Permission, ContentType)
    mapcache.belongs(mapcache.NOWHERE, Revision, PasswordResetRequest)


def mark_session_seen(sender, request, user, **kwargs) -> None:
    # The inactivity clock starts at login (InactivityTimeoutMiddleware moves it on).
    request.session["seen"] = int(time.time())
