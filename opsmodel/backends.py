"""Django's permission checks, with each person's permissions kept between requests.

ModelBackend reads a person's permissions (their own and their roles') with two queries on the
first check of every request: about 0.9 ms of each page drawn. People, roles and permissions
are tables of the map's topic (opsmodel.mapcache), so the set read is kept under the map's
stamp: any change to a person, a role or its permissions changes the stamp, and the next check
reads them again. When the stamps cannot be trusted (mapcache.stamps() is None: inside a
transaction, or the stamps' store failing), every check reads the database, as Django does.

The set is left where ModelBackend leaves its own (`_perm_cache` on the person, for the
request), so Django's backend, still listed for the sessions it logged in, answers from it too.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches

from opsmodel import mapcache


class KeptPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if hasattr(user_obj, "_perm_cache"):
            return user_obj._perm_cache
        now = mapcache.stamps()
        if now is None:
            return super().get_all_permissions(user_obj)
        key = f"opsmodel:permissions:{user_obj.pk}:{now[mapcache.MAP]}"
        kept = caches["default"].get(key)
        if kept is None:
            kept = super().get_all_permissions(user_obj)
            caches["default"].set(key, kept, mapcache.PAGE_SECONDS)
        user_obj._perm_cache = kept
        return kept
