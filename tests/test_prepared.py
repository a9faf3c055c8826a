"""Queries compiled once and run again with other ids (opsmodel.prepared)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from opsmodel import prepared as module
from opsmodel.prepared import prepared
from processes.models import Process, Step
from tests.factories import ProcessFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


@prepared
def steps_with_owners(process_id: int):
    return Step.objects.filter(process_id=process_id).select_related("owner").defer("due_after")


def test_each_call_runs_its_own_ids_through_sql_compiled_once():
    first, second = ProcessFactory(), ProcessFactory()
    ada, bo = UserFactory(first_name="Ada"), UserFactory(first_name="Bo")
    StepFactory(process=first, name="Draft", owner=ada)
    StepFactory(process=first, name="Send", owner=None)
    StepFactory(process=second, name="Film", owner=bo)
    compiled = []
    real_init = module.Compiled.__init__

    def counting_init(self, *args):
        compiled.append(args)
        real_init(self, *args)

    module.Compiled.__init__ = counting_init
    module.CHECK = False  # the check compiles each call again
    try:
        with CaptureQueriesContext(connection) as queries:
            one = steps_with_owners(first.pk)
            other = steps_with_owners(second.pk)
            again = steps_with_owners(first.pk)
    finally:
        module.Compiled.__init__ = real_init
        module.CHECK = True
    assert [(s.name, s.owner and s.owner.first_name) for s in one] == [
        ("Draft", "Ada"),
        ("Send", None),
    ]
    assert [(s.name, s.owner.first_name) for s in other] == [("Film", "Bo")]
    assert [s.pk for s in again] == [s.pk for s in one]
    assert len(queries) == 3  # owners came with their steps; nothing deferred was read
    assert len(compiled) == 1
    assert all(str(module.FIRST_STAND_IN) not in q["sql"] for q in queries.captured_queries)


def test_a_query_that_depends_on_more_than_its_ids_fails_under_the_check():
    process = ProcessFactory()
    wanted = {"name": "Draft"}

    @prepared
    def named_steps(process_id: int):
        return Step.objects.filter(process_id=process_id, name=wanted["name"])

    StepFactory(process=process, name="Draft")
    assert len(named_steps(process.pk)) == 1
    wanted["name"] = "Send"
    with pytest.raises(AssertionError, match="depends on more than its ids"):
        named_steps(process.pk)


def test_an_id_that_does_not_become_a_parameter_of_its_own_is_run_as_built():
    process = ProcessFactory(name="42")

    @prepared
    def named_like_the_id(number: int):
        return Process.objects.filter(name=str(number))  # a text, not the id as given

    assert [p.pk for p in named_like_the_id(42)] == [process.pk]
    assert named_like_the_id(43) == []


def test_values_and_annotations_come_back_as_the_orm_gives_them():
    process = ProcessFactory()
    StepFactory.create_batch(2, process=process)

    @prepared
    def counted(process_id: int):
        return (
            Process.objects.filter(pk=process_id)
            .annotate(n=Count("steps"))
            .values_list("name", "n")
        )

    assert counted(process.pk) == [(process.name, 2)]
    assert counted(process.pk + 1000) == []


@pytest.mark.parametrize(
    "given",
    [0, -3, "7", 7.0, True, [4, 0], [4, -3], [4, True], [4, "7"], [4, 7.0], []],
)
def test_anything_but_a_positive_whole_number_or_a_list_of_them_is_run_as_built(given):
    process = ProcessFactory()
    StepFactory(process=process)
    calls = []

    @prepared
    def steps(process_ids):
        calls.append(process_ids)
        if isinstance(process_ids, list):
            return Step.objects.filter(process_id__in=process_ids)
        return Step.objects.filter(process_id=process_ids)

    steps(given)
    # Built with what was given (a list as `__in` reads it, each id once), not with stand-ins.
    assert calls[-1] == given and type(calls[-1]) is type(given)


def test_lists_of_ids_are_compiled_once_for_each_length():
    processes = ProcessFactory.create_batch(4)
    for process in processes:
        StepFactory(process=process, name=f"Step of {process.name}")

    @prepared
    def steps_of_many(process_ids: list[int]):
        return Step.objects.filter(process__in=process_ids).order_by("process_id")

    first, second, third, fourth = (p.pk for p in processes)
    names = lambda steps: [step.name for step in steps]  # noqa: E731
    assert names(steps_of_many([first, second])) == names(
        Step.objects.filter(process__in=[first, second]).order_by("process_id")
    )
    assert names(steps_of_many([third, fourth])) == [
        f"Step of {processes[2].name}",
        f"Step of {processes[3].name}",
    ]
    assert names(steps_of_many([fourth, fourth, first])) == [
        f"Step of {processes[0].name}",
        f"Step of {processes[3].name}",
    ]
    assert steps_of_many([]) == []


def test_numbers_compared_with_a_column_of_numbers_are_compiled_once_too():
    """A step's position (not an id): PostgreSQL's driver is given it as a sized number
    (psycopg's Int4, binding on the server), which took it for no stand-in at all."""
    process = ProcessFactory()
    for name in ("Draft", "Check", "Send"):
        StepFactory(process=process, name=name)

    @prepared
    def steps_from(process_id: int, position: int):
        steps = Step.objects.filter(process_id=process_id, position__gte=position)
        return steps.order_by("position").values_list("name", flat=True)

    assert steps_from(process.pk, 1) == ["Draft", "Check", "Send"]
    assert steps_from(process.pk, 2) == ["Check", "Send"]
    assert steps_from(process.pk, 3) == ["Send"]
    assert None not in steps_from.compiled.values() and len(steps_from.compiled) == 1


def test_days_and_moments_take_the_stand_ins_places_as_the_database_is_given_them():
    import datetime

    from django.utils import timezone

    from opsmodel.runs.models import Run

    step = StepFactory()
    founder = UserFactory()
    early = Run.start(step.process, founder, datetime.date(2026, 11, 2))
    late = Run.start(step.process, founder, datetime.date(2026, 11, 9))

    @prepared
    def runs_from(process_id: int, day: datetime.date, since: datetime.datetime):
        runs = Run.objects.filter(process_id=process_id, starts_on__gte=day)
        return runs.filter(started_at__gte=since).order_by("starts_on").values_list("pk", flat=True)

    pid, long_ago = step.process_id, timezone.now() - datetime.timedelta(days=3650)
    assert runs_from(pid, datetime.date(2026, 11, 1), long_ago) == [early.pk, late.pk]
    assert runs_from(pid, datetime.date(2026, 11, 5), long_ago) == [late.pk]
    assert runs_from(pid, datetime.date(2026, 11, 10), long_ago) == []
    assert runs_from(pid, datetime.date(2026, 11, 1), timezone.now()) == []


def test_a_query_that_reads_the_clock_or_uses_an_argument_twice_is_run_as_built():
    from django.db.models import Q
    from django.utils import timezone

    from opsmodel.runs.models import Run, Schedule

    module.CHECK = False  # as in production: only the second set of stand-ins can tell
    try:
        parent = ProcessFactory()
        StepFactory(process=parent, name="Only")

        other = StepFactory(name=str(parent.pk))  # in another process, named by the id

        @prepared
        def of_or_named_by(process_id: int):
            return Step.objects.filter(Q(process_id=process_id) | Q(name=str(process_id)))

        assert {s.pk for s in of_or_named_by(parent.pk)} == {other.pk, parent.steps.get().pk}
        assert {s.pk for s in of_or_named_by(parent.pk)} == {other.pk, parent.steps.get().pk}

        @prepared
        def runs_started_from_now(process_id: int):
            return Run.objects.filter(process_id=process_id, started_at__gte=timezone.now())

        assert runs_started_from_now(parent.pk) == []
        Run.start(parent, UserFactory(), timezone.localdate())
        assert runs_started_from_now(parent.pk) == []  # it started before now

        @prepared
        def every_so_often(every: int):  # a small column: the stand-in is out of its range
            return Schedule.objects.filter(every=every)

        assert every_so_often(2) == []
    finally:
        module.CHECK = True


def test_rows_are_converted_as_the_orm_converts_them_with_converters_worked_out_once():
    import datetime

    from opsmodel.runs.models import Run

    step = StepFactory()
    founder = UserFactory()
    Run.start(step.process, founder, datetime.date(2026, 11, 2))
    Run.start(step.process, founder, datetime.date(2026, 11, 9))

    @prepared
    def runs_of(process_id: int):
        return Run.objects.filter(process_id=process_id).select_related("started_by").order_by("pk")

    as_built = list(Run.objects.filter(process_id=step.process_id).order_by("pk"))
    for _ in range(2):  # compiled on the first call, its converters kept for the second
        runs = runs_of(step.process_id)
        assert [(r.pk, r.starts_on, r.started_at, r.started_by) for r in runs] == [
            (r.pk, r.starts_on, r.started_at, r.started_by) for r in as_built
        ]
        assert all(type(r.starts_on) is datetime.date for r in runs)
        assert all(r.started_at.tzinfo is not None for r in runs)
    [compiled] = runs_of.compiled.values()
    assert list(compiled.converters.keys()) == [connection]


def test_lists_of_words_are_compiled_once_for_each_length_as_given_or_contained():
    """Search's queries: each word compared as given, or found in a text (`__icontains`,
    which escapes the database's wildcards: "a_c" is no pattern that "abc" matches)."""
    process = ProcessFactory(name="Billing")
    for name in ("Send the invoice", "Chase the invoice", "abc", "a_c", "100% done"):
        StepFactory(process=process, name=name)

    @prepared
    def named(words: list[str]):
        steps = Step.objects.filter(process__name__in=words[:1])
        for word in words[1:]:
            steps = steps.filter(name__icontains=word)
        return steps.order_by("name").values_list("name", flat=True)

    module.CHECK = False  # compiled once: the check would compile each call again
    try:
        assert named(["Billing", "invoice"]) == ["Chase the invoice", "Send the invoice"]
        assert named(["Billing", "SEND"]) == ["Send the invoice"]
        assert named(["Billing", "a_c"]) == ["a_c"]
        assert named(["Billing", "0%"]) == ["100% done"]
        assert named(["Other", "invoice"]) == []
        assert named(["Billing", "the", "chase"]) == ["Chase the invoice"]
    finally:
        module.CHECK = True
    compiled = named.compiled
    assert (
        set(shape for _alias, shape in compiled)
        == {
            (("words", 2),),
            (("words", 3),),
        }
        and None not in compiled.values()
    )


def test_a_word_given_otherwise_than_as_given_or_contained_is_run_as_built():
    """`__istartswith` gives the database "word%", no form of a stand-in it knows: the query is
    built each time, and still finds what it should."""
    process = ProcessFactory()
    StepFactory(process=process, name="Send the invoice")
    StepFactory(process=process, name="a_c")
    StepFactory(process=process, name="abc")

    @prepared
    def starting(words: list[str]):
        return Step.objects.filter(name__istartswith=words[0]).values_list("name", flat=True)

    @prepared
    def exactly(words: list[str]):  # SQLite's `__iexact` escapes wildcards as a LIKE pattern
        return Step.objects.filter(name__iexact=words[0]).values_list("name", flat=True)

    assert starting(["send"]) == ["Send the invoice"]
    assert starting(["chase"]) == []
    assert list(starting.compiled.values()) == [None]
    assert exactly(["A_C"]) == ["a_c"]
    assert exactly(["SEND THE INVOICE"]) == ["Send the invoice"]


def test_slices_are_compiled_once_each_and_each_reads_its_own_rows():
    from opsmodel.prepared import prepared_slices

    process = ProcessFactory()
    for n in range(5):
        StepFactory(process=process, name=f"Step {n}")

    def names(process_id: int):
        return (
            Step.objects.filter(process_id=process_id)
            .order_by("name")
            .values_list("name", flat=True)
        )

    paged = prepared_slices(names, 2)
    assert paged(slice(0, 2), process.pk) == ["Step 0", "Step 1"]
    assert paged(slice(2, 4), process.pk) == ["Step 2", "Step 3"]
    assert paged(slice(4, 6), process.pk) == ["Step 4"]
    assert paged(slice(0, 2), process.pk + 1000) == []


def test_a_word_written_in_is_part_of_the_sql_not_a_parameter():
    """A state written into the SQL (written_in) picks the same rows as the state given, with
    no parameter for it; anything but a plain word is refused, never written in."""
    import datetime

    from opsmodel.prepared import written_in
    from opsmodel.runs.models import Run, RunStep

    person = UserFactory()
    step = StepFactory(owner=person)
    run = Run.start(step.process, person, datetime.date(2026, 12, 7))
    todo = RunStep.objects.filter(assignee=person, state=written_in(RunStep.State.TODO))
    sql, params = todo.query.get_compiler(using=todo.db).as_sql()
    assert "'todo'" in sql and list(params) == [person.pk]
    assert list(todo) == list(run.steps.filter(assignee=person, state=RunStep.State.TODO))
    assert list(todo) and not RunStep.objects.filter(state=written_in("done")).exists()
    for not_a_word in ("to'do", "todo; DROP TABLE runs_run", "", "to do"):
        with pytest.raises(ValueError):
            written_in(not_a_word)
    # My work's steps to do: compiled once, the person's id its only parameter.
    from opsmodel.front.people import run_steps_to_do

    assert [step.pk for step in run_steps_to_do(person.pk)] == [step.pk for step in todo]
    [compiled] = [found for found in run_steps_to_do.compiled.values() if found is not None]
    assert "'todo'" in compiled.sql and "'active'" in compiled.sql
    assert not {"todo", "active"} & {str(param) for param in compiled.params}
