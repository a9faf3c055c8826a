from __future__ import annotations

import factory
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from opsmodel.models import User
from processes.models import Process, Step
from sops.models import SOP
from systems.models import Software, System

PASSWORD = "a-long-test-password"


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
