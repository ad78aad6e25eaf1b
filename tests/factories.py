"""factory_boy factories for the directory. Workflow state is set up with the real services."""

from __future__ import annotations

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.models import Agency, Department, Unit, User

TEST_PASSWORD = "correct-horse-battery-staple-42"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.LazyAttribute(lambda o: f"Department {o.code}")


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    department = factory.SubFactory(DepartmentFactory)
    code = factory.Sequence(lambda n: f"agency{n}")
    name = factory.LazyAttribute(lambda o: f"Agency {o.code}")
    address = "1 Test Plaza, Washington, DC 20001"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("agency", "code")

    agency = factory.SubFactory(AgencyFactory)
    code = factory.Sequence(lambda n: f"unit{n}")
    name = factory.LazyAttribute(lambda o: f"Unit {o.code}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda o: o.username.capitalize())
    last_name = "Tester"
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    unit = factory.SubFactory(UnitFactory)
    agency = factory.LazyAttribute(lambda o: o.unit.agency)
    roles = factory.LazyFunction(list)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def totp(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        """Every persona has a confirmed authenticator unless `totp=False` is passed."""
        self.save()
        if create and extracted is not False:
            TOTPDevice.objects.create(user=self, name="test", confirmed=True)
