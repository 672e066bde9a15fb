"""factory_boy factories of the governance app: risk groups, KYC applications, memberships."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import factory
from django.utils import timezone

from governance.kyc.models import KycApplication, KycStatus
from governance.memberships.models import Membership
from governance.risk_groups.models import CollateralAsset, MarketBounds, RiskGroup
from tests.factories import InstitutionFactory, UserFactory


class RegulatedGroupFactory(factory.django.DjangoModelFactory[RiskGroup]):
    class Meta:
        model = RiskGroup
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Regulated group {n}")
    slug = factory.Sequence(lambda n: f"regulated-{n}")
    kind = RiskGroup.Kind.KYC_REGULATED
    operator = factory.SubFactory(InstitutionFactory)
    description = "A KYC-regulated venue."


class PermissionlessGroupFactory(RegulatedGroupFactory):
    name = factory.Sequence(lambda n: f"Open group {n}")
    slug = factory.Sequence(lambda n: f"open-{n}")
    kind = RiskGroup.Kind.PERMISSIONLESS
    terms = "Trade at your own risk."


class MarketBoundsFactory(factory.django.DjangoModelFactory[MarketBounds]):
    class Meta:
        model = MarketBounds

    risk_group = factory.SubFactory(RegulatedGroupFactory)
    allowed_market_types = ["spot", "perp", "prediction"]
    allowed_oracle_kinds = ["chainlink", "manual"]


class CollateralAssetFactory(factory.django.DjangoModelFactory[CollateralAsset]):
    class Meta:
        model = CollateralAsset

    risk_group = factory.SubFactory(RegulatedGroupFactory)
    symbol = "USDC"
    haircut_bps = 0


class KycApplicationFactory(factory.django.DjangoModelFactory[KycApplication]):
    """A person's application with a complete profile (draft unless told otherwise)."""

    class Meta:
        model = KycApplication

    risk_group = factory.SubFactory(RegulatedGroupFactory)
    kind = KycApplication.Kind.PERSON
    applicant = factory.SubFactory(UserFactory)
    status = KycStatus.DRAFT
    legal_name = factory.Faker("name")
    date_of_birth = dt.date(1990, 5, 17)
    nationality = "DE"
    country_of_residence = "FR"
    address = "1 Rue de Rivoli, 75001 Paris"

    class Params:
        submitted = factory.Trait(
            status=KycStatus.SUBMITTED,
            submitted_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=1)),
        )


class KybApplicationFactory(KycApplicationFactory):
    kind = KycApplication.Kind.INSTITUTION
    institution = factory.SubFactory(InstitutionFactory)
    legal_name = ""
    nationality = ""
    country_of_residence = ""
    date_of_birth = None
    address = ""
    registration_number = factory.Sequence(lambda n: f"HRB {100000 + n}")
    jurisdiction = "DE"
    registered_address = "Unter den Linden 1, 10117 Berlin"
    beneficial_owners = factory.LazyFunction(
        lambda: [{"name": "Ada Owner", "country": "DE", "share_percent": "60"}]
    )


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    risk_group = factory.SubFactory(RegulatedGroupFactory)
    source = Membership.Source.KYC
    country = "FR"
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=365))
