from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "opsmodel.comments"
    label = "comments"
    verbose_name = "Comments"

    def ready(self) -> None:
        # What this layer draws on the pages below (opsmodel.slots): the threads and counts.
        from opsmodel import mapcache
        from opsmodel.comments import fills  # noqa: F401
        from opsmodel.comments.models import Comment

        mapcache.belongs(mapcache.COMMENTS, Comment)
