from __future__ import annotations

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from opsmodel.models import User
from processes.models import Metric, MetricValue, Process, Step
from processes.periods import Cadence, period_start, previous_starts
from sops.models import SOP
from systems.models import Software, System

PASSWORD = "a-long-test-password"
# Request headers of an htmx request.
HTMX = {"HTTP_HX_REQUEST": "true"}


def sop_form_data(sop, **changes) -> dict:
    """What the SOP edit form posts for `sop` as it is, with `changes`."""
    data = {
        "title": sop.title,
        "process": sop.process_id,
        "step": sop.step_id or "",
        "owner": sop.owner_id or "",
        "outcome": sop.outcome,
        "estimated_minutes": sop.estimated_minutes or "",
        "body": sop.body,
        "software": [],
        "review_interval_days": sop.review_interval_days,
        "version": sop.version,
    }
    return {**data, **changes}


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))


class SoftwareFactory(DjangoModelFactory):
    class Meta:
        model = Software

    name = factory.Sequence(lambda n: f"Tool {n}")
    link = factory.LazyAttribute(lambda s: f"https://tool{s.name.split()[-1]}.example.com")
    owner = factory.SubFactory(UserFactory)


class SystemFactory(DjangoModelFactory):
    class Meta:
        model = System

    name = factory.Sequence(lambda n: f"System {n}")
    purpose = "Brings the right people to us every week."
    owner = factory.SubFactory(UserFactory)


class ProcessFactory(DjangoModelFactory):
    class Meta:
        model = Process

    system = factory.SubFactory(SystemFactory)
    name = factory.Sequence(lambda n: f"Process {n}")
    result = "One video published every week"
    owner = factory.SubFactory(UserFactory)


class StepFactory(DjangoModelFactory):
    class Meta:
        model = Step

    process = factory.SubFactory(ProcessFactory)
    name = factory.Sequence(lambda n: f"Step {n}")
    owner = factory.SubFactory(UserFactory)


class SOPFactory(DjangoModelFactory):
    class Meta:
        model = SOP
        skip_postgeneration_save = True

    process = factory.SubFactory(ProcessFactory)
    title = factory.Sequence(lambda n: f"SOP {n}")
    owner = factory.SubFactory(UserFactory)
    outcome = "An invoice in the client's inbox"
    estimated_minutes = 30
    body = "1. Open the books.\n2. Send the invoice.\n"

    @factory.post_generation
    def software(self, create, extracted, **kwargs):
        if create and extracted:
            self.software.set(extracted)


def build_map(systems: int, processes_per_system: int, steps_per_process: int, owners: int = 3):
    """A map of the given size: systems nested in a chain of depth 3 repeated, each with
    processes whose steps all have an SOP except the last, plus one SOP not tied to a step;
    each system with a monthly metric and each process with a weekly one, with a few values."""
    people = UserFactory.create_batch(owners)
    made = []
    today = timezone.localdate()
    for i in range(systems):
        parent = made[i - 1] if i % 3 else None
        system = SystemFactory(parent=parent, owner=people[i % owners])
        made.append(system)
        add_metric(system=system, cadence=Cadence.MONTHLY, owner=people[0], today=today)
        for _ in range(processes_per_system):
            process = ProcessFactory(system=system, owner=people[i % owners])
            add_metric(process=process, cadence=Cadence.WEEKLY, owner=people[0], today=today)
            for s in range(steps_per_process):
                step = StepFactory(process=process, owner=people[s % owners])
                if s < steps_per_process - 1:
                    SOPFactory(process=process, step=step, owner=people[s % owners])
            SOPFactory(process=process, owner=people[0])
    return made


def add_metric(cadence: str, owner, today, **parent) -> Metric:
    metric = Metric.objects.create(
        name="Key number", target=10, cadence=cadence, owner=owner, **parent
    )
    MetricValue.objects.bulk_create(
        MetricValue(metric=metric, period=start, value=8 + n)
        for n, start in enumerate(previous_starts(cadence, period_start(cadence, today), 4))
    )
    return metric
