"""Queries compiled to SQL once, then run again with other ids, days and moments.

Django writes a query's SQL afresh each time it runs it: it walks the queryset's filters,
joins, columns and ordering every time. For the queries a page makes on every visit that is
most of what a query costs: a process's steps with their owners take 0.6 ms to build and
compile and 0.04 ms for SQLite to answer, on the benchmark's machine.

A function marked `@prepared` builds a queryset from its arguments alone: ids (positive whole
numbers), lists of ids (for `__in`, each id once), lists of words (texts searched for, each
compared as given or as part of a text: `__icontains`; given to the ORM as they come, not
changed on the way), days (dates) and moments (aware datetimes).
Its first call builds it with stand-ins of the same kinds and compiles it, per database and per
length of each list (an `IN` of three ids is other SQL than one of four); each call then runs
that SQL with its own arguments in the stand-ins' places, and the ORM turns the rows into
objects (or values) as it would have. It returns the results as a list: a prepared query is
run as it was built, never filtered or sliced further. A function is compiled for SHAPES
lengths of its lists at most; past them, for an empty list or any other argument, the query
is run as built.

Only a query whose SQL depends on its arguments alone may be prepared: never one that reads
the clock, the settings or the person itself, whose SQL would be kept as it was the first
time (pass it today, or the person's id, instead). So it is compiled with a second set of
stand-ins as well, and kept only if the two give the same SQL with parameters that differ in
the stand-ins' places alone, each stand-in a parameter of its own; otherwise (the clock read,
an argument used twice in two forms or written into the SQL, a stand-in out of a column's
range) the query is simply run as built, every time. Under the tests (CHECK), each call also
builds and compiles the query as usual and fails if the SQL or its parameters differ.
"""

from __future__ import annotations

import copy
import datetime
import functools
import itertools
import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

# Stand-ins, counted up from here: ids larger than any a test or a map of ours reaches, and
# days and moments centuries away.
FIRST_STAND_IN = 918_273_641
FIRST_DAY = datetime.date(2901, 1, 1)
FIRST_MOMENT = datetime.datetime(2901, 1, 1, tzinfo=datetime.UTC)
# Where the second set of stand-ins starts (stand_ins_for).
OTHER = 10_000
# How many shapes of its arguments (lengths of its lists) a prepared query is compiled for.
SHAPES = 64

# Set by the tests: every call is checked against the query built and compiled as usual.
CHECK = False

ID, DAY, MOMENT = "id", "day", "moment"
# A list of words is shaped (WORDS, its length); a word may take the form CONTAINS among the
# parameters: as `__icontains` gives it to the database (escaped, between wildcards).
WORDS, CONTAINS = "words", "contains"


def kind_of(arg) -> str | None:
    if type(arg) is int and arg > 0:
        return ID
    if type(arg) is datetime.date:
        return DAY
    if type(arg) is datetime.datetime and timezone.is_aware(arg):
        return MOMENT
    return None


def shape_of(args: tuple) -> tuple[str | int, ...] | None:
    """The kind of each argument (an id, a day, a moment), the length of a list of ids, or
    (WORDS, the length) of a list of words; None if an argument is none of those (or an empty
    list, or an empty word): the query is then run as built."""
    shape: list[str | int | tuple[str, int]] = []
    for arg in args:
        if type(arg) in (list, tuple):
            # Every item an id (kind_of), told without a call per item: My work's lists hold
            # hundreds.
            kinds = set(map(type, arg))
            if kinds == {int} and min(arg) > 0:
                shape.append(len(arg))
            elif kinds == {str} and all(arg):
                shape.append((WORDS, len(arg)))
            else:
                return None
        elif (kind := kind_of(arg)) is not None:
            shape.append(kind)
        else:
            return None
    return tuple(shape)


def stand_ins_for(shape: tuple, other: bool = False) -> tuple:
    """Arguments of `shape` made of stand-ins, none the same; `other`: a second set, none of
    them one of the first."""
    count = itertools.count(OTHER if other else 0)

    def one(kind: str):
        n = next(count)
        if kind == WORDS:
            # With a character `__icontains` escapes: a word given to the database escaped
            # otherwise than as `__icontains` escapes it (SQLite's `__iexact`) is not found
            # among the parameters, and the query is run as built; and capitals, spaces about
            # it and a dash, so that a word changed on its way (made lower case, stripped,
            # cut) is not found either.
            return f" W_{FIRST_STAND_IN + n}-x "
        if kind == DAY:
            return FIRST_DAY + datetime.timedelta(days=n)
        if kind == MOMENT:
            return FIRST_MOMENT + datetime.timedelta(seconds=n)
        return FIRST_STAND_IN + n

    def made(kind):
        if isinstance(kind, int):
            return [one(ID) for _ in range(kind)]
        if isinstance(kind, tuple):
            return [one(WORDS) for _ in range(kind[1])]
        return one(kind)

    return tuple(made(kind) for kind in shape)


def flat(args: tuple) -> list:
    return [i for arg in args for i in (arg if isinstance(arg, list | tuple) else (arg,))]


class Compiled:
    """A queryset built with stand-ins and compiled: its SQL, its parameters, where the
    stand-ins are among them (and how the database's driver was given each: a day as text
    on SQLite), and the compiler that knows how its rows become results."""

    def __init__(self, queryset: QuerySet, stand_ins: tuple):
        self.queryset, self.alias = queryset, queryset.db
        self.compiler = queryset.query.get_compiler(using=self.alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.stand_ins = flat(stand_ins)
        # Each form a stand-in may take among the parameters: (its place among the stand-ins,
        # the kind whose adapter gave that form of it, or None: as it was given).
        forms: dict = {}
        for index, stand_in in enumerate(self.stand_ins):
            forms[(type(stand_in), stand_in)] = (index, None)
            if type(stand_in) is str:
                contained = self.adapt(CONTAINS, stand_in)
                forms.setdefault((str, contained), (index, CONTAINS))
                continue
            kind = kind_of(stand_in)
            if kind in (DAY, MOMENT):
                adapted = self.adapt(kind, stand_in)
                forms.setdefault((type(adapted), adapted), (index, kind))
        self.places: list[list[tuple[int, str | type | None]]] = [[] for _ in self.stand_ins]
        # How each column's values are converted, per connection (each thread has its own).
        self.converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        for place, param in enumerate(self.params):
            try:
                index, kind = forms[(type(param), param)]
            except (KeyError, TypeError):  # not a stand-in (or a value that cannot be hashed)
                # PostgreSQL's driver binding values on the server is given a whole number
                # compared with a column of numbers (a tree's level, a position), not an id,
                # as its size (psycopg's Int4): the stand-in, its type the way to give it.
                if not isinstance(param, int) or (int, int(param)) not in forms:
                    continue
                index, kind = forms[(int, int(param))][0], type(param)
            self.places[index].append((place, kind))

    def adapt(self, kind: str | type, value):
        """A day or a moment as this database's driver is given it (text, on SQLite); a
        whole number as the type its stand-in was given as (`kind`); a word as `__icontains`
        gives it (CONTAINS)."""
        if isinstance(kind, type):
            return kind(value)
        ops = connections[self.alias].ops
        if kind == CONTAINS:
            return f"%{ops.prep_for_like_query(value)}%"
        if kind == DAY:
            return ops.adapt_datefield_value(value)
        return ops.adapt_datetimefield_value(value)

    @property
    def usable(self) -> bool:
        """Whether each stand-in became parameters of its own, and none was written into the
        SQL itself."""
        written = any(str(stand_in) in self.sql for stand_in in self.stand_ins)
        return not written and all(self.places)

    def params_for(self, args: tuple) -> tuple:
        params = list(self.params)
        for places, given in zip(self.places, flat(args), strict=True):
            for place, kind in places:
                params[place] = given if kind is None else self.adapt(kind, given)
        return tuple(params)

    def converters_on(self, compiler) -> dict:
        """How the rows' values become Python values on `compiler`'s connection, worked out
        once per connection rather than for every column on every run."""
        found = self.converters.get(compiler.connection)
        if found is None:
            columns = [s[0] for s in compiler.select[0 : compiler.col_count]]
            found = type(compiler).get_converters(compiler, columns)
            self.converters[compiler.connection] = found
        return found

    def run(self, args: tuple) -> list:
        """The query run with `args`: its SQL as compiled, the rows turned into results by the
        ORM, through a copy of the compiler on this thread's connection."""
        queryset = self.queryset._chain()
        compiler = copy.copy(self.compiler)
        compiler.connection = connections[queryset.db]
        sql, params = self.sql, self.params_for(args)
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        converters = self.converters_on(compiler)
        compiler.get_converters = lambda expressions: converters
        # The queryset is iterated here and never handed out: nothing clones this query on.
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return list(queryset)


def written_in(word: str) -> RawSQL:
    """A fixed word (a state's value, such as "todo") written into a query's SQL, rather than
    passed as a parameter: `.filter(state=written_in(RunStep.State.TODO))`.

    On PostgreSQL each query a connection makes again is a prepared statement, which the
    server plans once for any parameters (a generic plan) unless that plan looks dearer than
    one made for the values given. Given a state as a parameter, it can only guess how many
    rows have it (a third of the runs for "active" of three states, where 2% are), picks a
    worse plan and goes on planning the statement at every run: for My work's steps, 0.7 ms
    of the server's time each look (tests/benchmark/FINDINGS.md). Written in, the word is
    known to the generic plan. Only for words of the code, never for what a person typed."""
    if not word.isidentifier():
        raise ValueError(f"Not a plain word to write into SQL: {word!r}")
    return RawSQL(f"'{word}'", ())


def prepared(build: Callable[..., QuerySet]) -> Callable[..., list]:
    """`build(*args)` as a list, its SQL compiled once per database and shape (the module)."""
    compiled: dict[tuple, Compiled | None] = {}  # by database alias and shape
    models: list[type[Model]] = []  # the model it reads: which database it reads from

    @functools.wraps(build)
    def run(*args: Any) -> list:
        # Each id of a list once, as `__in` reads it (Django drops the repeats from its SQL).
        args = tuple(list(dict.fromkeys(a)) if isinstance(a, list | tuple) else a for a in args)
        shape = shape_of(args)
        if shape is None:
            return list(build(*args))
        key = (router.db_for_read(models[0]) if models else None, shape)
        found = compiled.get(key)
        if key not in compiled:
            if len(compiled) >= SHAPES:
                return list(build(*args))
            found = compiled_for(build, shape)
            if found is not None:
                models[:] = [found.queryset.model]
                key = (found.alias, shape)
            compiled[key] = found
        if found is None:
            return list(build(*args))
        if CHECK:
            check(build, args, found)
        return found.run(args)

    run.compiled = compiled  # what it was compiled to, by database and shape (for the tests)
    return run


def prepared_slices(build: Callable[..., QuerySet], at_most: int) -> Callable[..., list]:
    """`build(*args)[window]` as a list, for a slice `window` given first: prepared as above,
    once for each slice, since a slice's bounds are written into the SQL (LIMIT, OFFSET), not
    given as parameters. Kept for the `at_most` slices last asked for (each holds its queries
    compiled, one for each shape of the arguments)."""

    @functools.lru_cache(maxsize=at_most)
    def of_slice(start: int, stop: int) -> Callable[..., list]:
        def sliced(*args: Any) -> QuerySet:
            return build(*args)[start:stop]

        sliced.__qualname__ = f"{build.__qualname__}[{start}:{stop}]"
        return prepared(sliced)

    def run(window: slice, *args: Any) -> list:
        return of_slice(window.start, window.stop)(*args)

    return run


def compiled_for(build: Callable[..., QuerySet], shape: tuple) -> Compiled | None:
    """`build` compiled for arguments of `shape`, or None if it cannot be prepared: when its
    stand-ins do not each become parameters of their own; when another set of stand-ins
    gives other SQL, or other parameters than theirs (it reads something besides its
    arguments, such as the clock, or uses one twice in two forms); or when it cannot be
    compiled with stand-ins at all (one out of the range of a small column)."""
    try:
        first = stand_ins_for(shape)
        found = Compiled(build(*first), first)
        if not found.usable:
            return None
        other = stand_ins_for(shape, other=True)
        queryset = build(*other)
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except Exception:  # EmptyResultSet, or anything else: then it is run as built, every time
        return None
    if (sql, tuple(params)) != (found.sql, found.params_for(other)):
        return None
    return found


def check(build: Callable[..., QuerySet], args: tuple, compiled: Compiled) -> None:
    """Fail if the SQL compiled once, with `args` in it, is not the SQL of `build(*args)`."""
    queryset = build(*args)
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    if (sql, tuple(params)) != (compiled.sql, compiled.params_for(args)):
        raise AssertionError(
            f"{build.__qualname__} is prepared but its SQL depends on more than its ids:\n"
            f"{sql} {params}\n!=\n{compiled.sql} {compiled.params_for(args)}"
        )
