from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "opsmodel.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from opsmodel import mapcache
        from opsmodel import models as base
        from opsmodel.comments import models as comments
        from opsmodel.notify import (
            context_processors,
            events,
            fills,  # noqa: F401 (the person page's place)
        )
        from opsmodel.notify.models import Notification, Preferences
        from opsmodel.runs import models as runs
        from sops import models as sops

        # The bell's count is on every whole page, and others (and time) change it: a kept
        # page is kept under it, found for each (opsmodel.mapcache), and kept itself until the
        # inbox's stamp changes (any write to a notification: told, read, sent by the worker,
        # forgotten) or its first unread item leaves the inbox by age (KEEP_DAYS). No kept
        # page reads the inbox (tests/test_mapcache.py lists the topics of each).
        mapcache.FRAME.append(context_processors.unread_count)
        mapcache.belongs(mapcache.INBOX, Notification)
        mapcache.belongs(mapcache.NOWHERE, Preferences)
        # Told as it happens, in the transaction of the change (opsmodel/notify/events.py).
        base.saved.connect(events.on_saved, dispatch_uid="notify_saved")
        base.handed_over.connect(events.on_handed_over, dispatch_uid="notify_handed_over")
        runs.run_started.connect(events.on_run_started, dispatch_uid="notify_run_started")
        runs.step_given.connect(events.on_step_given, dispatch_uid="notify_step_given")
        sops.suggestion_made.connect(events.on_suggestion_made, dispatch_uid="notify_suggested")
        comments.comment_posted.connect(events.on_comment_posted, dispatch_uid="notify_comment")
        sops.suggestion_decided.connect(
            events.on_suggestion_decided, dispatch_uid="notify_suggestion_decided"
        )
