from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.validators import MinValueValidator, URLValidator
from django.db import models, transaction
from django.db.models import Count, Expression, OuterRef, Subquery
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey
from mptt.querysets import TreeQuerySet

from opsmodel import mapcache
from opsmodel.addresses import address
from opsmodel.loading import QuickLoaded
from opsmodel.models import Versioned, owner_field, saved, source_field, tell
from opsmodel.prepared import prepared

# What uses a tool, counted on the software pages: the name of the count → (a function making
# its expression, a subquery on the tool's pk, and what one and several are called). Systems
# are counted here; the SOPs app registers its own from its `ready()`, as with COUNTS below.
USES: dict[str, tuple[Callable[[], Expression], str, str]] = {}


def uses(name: str, one: str, many: str):
    """Register the function making the count `name` of things that use a tool (a decorator)."""

    def register(make: Callable[[], Expression]) -> Callable[[], Expression]:
        USES[name] = (make, one, many)
        return make

    return register


class SoftwareQuerySet(models.QuerySet):
    def with_uses(self) -> SoftwareQuerySet:
        """Each tool with its owner and how many things of each kind use it (USES), as
        subqueries: one query however many tools and users."""
        made = {name: Coalesce(Subquery(make()), 0) for name, (make, _, _) in USES.items()}
        return self.select_related("owner").annotate(**made)


class Software(QuickLoaded):
    """A tool the business uses (and usually pays for)."""

    class Category(models.TextChoices):
        COMMUNICATION = "communication", "Communication"
        CONTENT = "content", "Content and media"
        CRM = "crm", "CRM and sales"
        FINANCE = "finance", "Finance and billing"
        MARKETING = "marketing", "Marketing"
        OPERATIONS = "operations", "Operations and projects"
        OTHER = "other", "Other"

    name = models.CharField(max_length=100, unique=True)
    # Web addresses only: a javascript: or data: link would run or show code on every page
    # that links the tool.
    link = models.URLField(
        blank=True,
        validators=[
            URLValidator(
                schemes=["http", "https"],
                message="Enter a web address starting with https://.",
                code="web_address",  # not "invalid", which the field's own message would replace
            )
        ],
    )
    category = models.CharField(max_length=20, choices=Category, default=Category.OTHER)
    owner = owner_field("software", "Who looks after this tool: its account, seats and bill.")
    # In whatever currency the business pays in: the app adds the costs up, never converts them.
    cost_per_month = models.DecimalField(
        "Cost per month",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0), message="A cost cannot be below 0.")],
        help_text="What it costs a month, in the currency you pay in; empty if not known.",
    )
    notes = models.TextField(blank=True)
    # When it was last saved: what the API's `updated_since` reads.
    updated_at = models.DateTimeField(
        default=timezone.now, db_default=Now(), editable=False, db_index=True
    )

    objects = SoftwareQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "software"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Saved, it tells the layers above what changed, as the map's objects do (a new owner
        is told: opsmodel.models.saved)."""
        from opsmodel import history

        self.updated_at = timezone.now()
        with transaction.atomic():
            stored = Software.objects.filter(pk=self.pk).first() if self.pk else None
            super().save(*args, **kwargs)
            by = history.acting()
            tell(
                saved, created=stored is None, sender=Software, instance=self, stored=stored, by=by
            )

    def get_absolute_url(self) -> str:
        return address("systems:software_detail", self.pk)

    @property
    def safe_link(self) -> str:
        """The link if it is a web address, else "": a row stored before links were checked
        may hold a javascript: link, which pages show as text rather than follow."""
        return self.link if self.link.lower().startswith(("http://", "https://")) else ""

    def uses(self) -> list[str]:
        """How many of each kind of thing use it ("2 systems", "1 SOP"), from `with_uses()`."""
        counted = [(getattr(self, name), one, many) for name, (_, one, many) in USES.items()]
        return [f"{n} {one if n == 1 else many}" for n, one, many in counted]


@uses("system_count", "system", "systems")
def count_systems() -> Expression:
    """The systems that use a tool, as a subquery on the tool's pk."""
    links = System.software.through.objects.filter(software=OuterRef("pk"))
    return links.order_by().values("software").annotate(n=Count("pk")).values("n")


# What the layers above count inside each system, registered by their apps (`ready()`): the
# name of the count → a function counting it for every system that has any, as rows of
# (system id, count). The processes app counts its processes, the SOPs app its SOPs; this
# layer knows neither.
COUNTS: dict[str, Callable[[], Iterable[tuple[int, int]]]] = {}


def counts(name: str):
    """Register the function counting `name` in each system (as a decorator)."""

    def register(count: Callable[[], Iterable[tuple[int, int]]]):
        COUNTS[name] = count
        return count

    return register


def counts_by_system() -> dict[str, dict[int, int]]:
    """Each count the layers above registered, by system (a system without any is not in it):
    one grouped count each, for the whole map, once for each version of the map.

    The map's cards were counted each time they were drawn, as subqueries for the systems
    shown: PostgreSQL walked the 3,400 SOPs of the 36 open cards in 2 ms on every look at the
    map (and every system page, every branch opened). The whole map takes it 7.5 ms, once a
    version (on SQLite 8 ms); a system's counts change only with the map."""
    return mapcache.kept_for_map(
        ("counts by system",), lambda: {name: dict(count()) for name, count in COUNTS.items()}
    )


def with_counts(systems: Iterable[System], counted: dict | None = None) -> list[System]:
    """`systems`, each with the counts the layers above registered (`process_count`,
    `sop_count`): `counted`, or counts_by_system()."""
    counted = counts_by_system() if counted is None else counted
    systems = list(systems)
    for system in systems:
        for name, by_system in counted.items():
            setattr(system, name, by_system.get(system.pk, 0))
    return systems


class SystemQuerySet(TreeQuerySet):
    def map_cards(self) -> SystemQuerySet:
        """Reading only what the map's cards show (not a system's purpose): its counts come
        from with_counts()."""
        tree = ("parent", "level", "lft", "rght", "tree_id")
        owner = ("owner__first_name", "owner__last_name", "owner__username", "owner__is_active")
        return self.select_related("owner").only("name", *tree, *owner)


class System(MPTTModel, Versioned):
    """The big picture: why a group of processes matters and who owns it.

    Systems nest as they grow in scope (lead generation → IP creation → revenue
    generation → wealth generation); that nesting is the one tree in the model.
    """

    # django-mptt's constructor: Django's, then a note of the node's parent, which a save
    # compares with to tell a move (opsmodel.loading: rows are loaded without it, then this).
    CONSTRUCTOR = MPTTModel.__init__

    def loaded(self) -> None:
        self._mptt_meta.update_mptt_cached_fields(self)

    name = models.CharField(max_length=120)
    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The wider system this one feeds, if any.",
    )
    purpose = models.TextField(
        blank=True, help_text="Why it matters: how this system feeds the big picture."
    )
    owner = owner_field("systems")
    source = source_field()
    software = models.ManyToManyField(Software, blank=True, related_name="systems")
    # For teams whose SOPs are audited: every change to the recipe of an SOP in this system (or
    # inside it) is a suggestion that a second person approves, a founder's own included.
    reviews_sop_changes = models.BooleanField(
        "SOP changes need a second person's approval",
        default=False,
        db_default=False,  # rows written without it (older code, a migration's) are not audited
        help_text="Every change to an SOP's recipe in this system, and in the systems inside "
        "it, is suggested and then approved by someone else: for SOPs that are audited.",
    )

    objects = TreeManager.from_queryset(SystemQuerySet)()

    # What a revision keeps (opsmodel.history), with the labels people know the fields by.
    history_fields = {
        "name": "Name",
        "parent": "Inside",
        "purpose": "Purpose",
        "owner": "Owner",
        "software": "Software",
        "reviews_sop_changes": "SOP changes need a second person's approval",
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=models.Q(parent__isnull=False),
                name="system_name_unique_in_parent",
                violation_error_code="name_taken",
                violation_error_message="The parent already has a sub-system with that name.",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(parent__isnull=True),
                name="system_name_unique_at_top_level",
                violation_error_code="name_taken",
                violation_error_message="There is already a top-level system with that name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return address("systems:detail", self.pk)

    def path(self) -> list[System]:
        """The systems it sits in and itself, from the widest: `get_ancestors(include_self=True)`
        as a list (every page of the map shows it), made from the map's systems kept for each
        version of the map (map_systems()): a query less on every page with breadcrumbs."""
        rows, parent = map_systems(), PARENT_AT
        chain, pk = [], self.pk
        while pk is not None:
            row = rows.get(pk)
            if row is None:  # made in the moment since the map's systems were read
                return systems_around(self.tree_id, self.lft, self.rght)
            chain.append(row)
            pk = row[parent]
        db, names = System.objects.db, SYSTEM_COLUMNS
        return [System.from_db(db, names, row) for row in reversed(chain)]

    def delete(self, *args, **kwargs):
        # django-mptt closes the gap in the tree *before* deleting the row; if the delete
        # is then refused (PROTECT: the system still has sub-systems or processes), the
        # transaction rolls the gap back so the tree stays valid.
        with transaction.atomic(using=kwargs.get("using") or self._state.db):
            return super().delete(*args, **kwargs)


# Every system's stored values, in the order of its columns (and where its parent is among
# them): each system is made from them anew wherever a page shows a path.
SYSTEM_COLUMNS = [field.attname for field in System._meta.concrete_fields]
PARENT_AT = SYSTEM_COLUMNS.index("parent_id")


def map_systems() -> dict[int, tuple]:
    """Every system's stored values by id, read once for each version of the map (200 systems:
    a fraction of a millisecond, where each page's path was a query of its own)."""
    return mapcache.kept_for_map(
        ("map systems",),
        lambda: {row[0]: row for row in System.objects.order_by().values_list(*SYSTEM_COLUMNS)},
    )


@prepared
def systems_around(tree_id: int, lft: int, rght: int) -> SystemQuerySet:
    """The systems of a tree whose span holds lft..rght, from the widest (System.path)."""
    return System.objects.filter(tree_id=tree_id, lft__lte=lft, rght__gte=rght).order_by("lft")


@prepared
def systems_inside(system_id: int) -> SystemQuerySet:
    """The systems right inside one, in tree order, with their owners (their counts:
    with_counts())."""
    inside = System.objects.filter(parent_id=system_id).select_related("owner")
    return inside.order_by("tree_id", "lft")


@prepared
def map_cards() -> SystemQuerySet:
    """Every system of the map as its card shows it (SystemQuerySet.map_cards), in tree order."""
    return System.objects.map_cards()


@prepared
def map_cards_above(level: int) -> SystemQuerySet:
    """The map's cards of the systems above a level of the tree (the widest is level 0)."""
    return System.objects.map_cards().filter(level__lt=level)


@prepared
def map_cards_inside(system_id: int) -> SystemQuerySet:
    """The map's cards of the systems right inside one, in tree order."""
    return System.objects.filter(parent_id=system_id).order_by("tree_id", "lft").map_cards()
