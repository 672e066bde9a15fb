"""Demo data of the governance app (called by `manage.py seed_demo`): a KYC-regulated group
and a permissionless one with their policies, bounds and collateral; the demo trader and
the house institution approved in the regulated group; applicants waiting for review.
Everything goes through the services, so the audit log reads as if people had done it.
Idempotent: what exists is left alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TextIO

from django.core.files.uploadedfile import SimpleUploadedFile

from governance.kyc.documents import kyc_document_add
from governance.kyc.models import INSTITUTION_DOCUMENT_KINDS, PERSON_DOCUMENT_KINDS, KycApplication
from governance.kyc.services import (
    kyc_application_approve,
    kyc_application_create,
    kyc_application_submit,
)
from governance.memberships.models import Membership
from governance.memberships.services import membership_join
from governance.risk_groups.models import CollateralAsset, MarketBounds, RiskGroup
from xip_portal.demo import demo_user
from xip_portal.models import Institution, InstitutionMembership, User

DEMO_PDF = b"%PDF-1.4\n% Exchange OS demo document\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

GROUPS: list[dict[str, Any]] = [
    {
        "slug": "regulated-main",
        "name": "Regulated Main",
        "kind": RiskGroup.Kind.KYC_REGULATED,
        "description": "The KYC-regulated venue: every member is reviewed, institutions by two "
        "KYC admins.",
        "last_call_minutes": 30,
        "vote_quorum": 3,
        "vote_threshold_bps": 5000,
        "operator_approval_required": True,
        "reverification_days": 365,
        "four_eyes_for_institutions": True,
        "high_risk_countries": ["AE", "TR"],
        "blocked_jurisdictions": ["CU", "IR", "KP", "SY"],
        "proposal_bond_amount": Decimal("0"),
        # the World Cup group: no real assets are involved
        "simulated_collateral": True,
        "faucet_daily_amount": Decimal("10000"),
        "collateral": [("USDC", 0), ("ETH", 1500), ("BTC", 1000)],
        "bounds": {"max_leverage": 20, "allowed_oracle_kinds": ["chainlink", "pyth", "manual"]},
    },
    {
        "slug": "open-markets",
        "name": "Open Markets",
        "kind": RiskGroup.Kind.PERMISSIONLESS,
        "description": "The permissionless venue: anyone outside the blocked jurisdictions joins "
        "by accepting the terms; proposals post a bond.",
        "last_call_minutes": 5,
        "vote_quorum": 5,
        "vote_threshold_bps": 3300,
        "blocked_jurisdictions": ["IR", "KP"],
        "proposal_bond_amount": Decimal("100"),
        "simulated_collateral": True,
        "faucet_daily_amount": Decimal("10000"),
        "terms": "Markets here are created by anyone and carry no central approval. Trade only "
        "what you can afford to lose.",
        "collateral": [("USDC", 0)],
        "bounds": {"max_leverage": 10, "allowed_oracle_kinds": ["chainlink", "pyth", "uma"]},
    },
]

# Applicants waiting in the regulated group's queue: (email, name, nationality, residence).
PENDING = [
    ("alice.applicant@demo.exchange-os.test", "Alice Martin", "FR", "FR"),
    ("kemal.applicant@demo.exchange-os.test", "Kemal Yilmaz", "TR", "DE"),
    ("ivan.applicant@demo.exchange-os.test", "Ivan Petrov", "KP", "KP"),
]
PENDING_INSTITUTION = ("Northwind Capital", "northwind@demo.exchange-os.test")


def _group(spec: dict[str, Any], operator: Institution | None) -> RiskGroup:
    values = {k: v for k, v in spec.items() if k not in ("slug", "collateral", "bounds")}
    group, created = RiskGroup.objects.get_or_create(
        slug=spec["slug"], defaults={**values, "operator": operator}
    )
    if created or not MarketBounds.objects.filter(risk_group=group).exists():
        MarketBounds.objects.get_or_create(
            risk_group=group,
            defaults={**spec["bounds"], "allowed_market_types": ["spot", "perp", "prediction"]},
        )
    for symbol, haircut in spec["collateral"]:
        CollateralAsset.objects.get_or_create(
            risk_group=group, symbol=symbol, defaults={"haircut_bps": haircut}
        )
    return group


def _documents(application: KycApplication) -> None:
    kinds = INSTITUTION_DOCUMENT_KINDS if application.is_institution else PERSON_DOCUMENT_KINDS
    for kind in kinds:
        kyc_document_add(
            actor=application.applicant,
            application=application,
            kind=kind,
            upload=SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF, content_type="application/pdf"),
        )


def _apply(
    user: User,
    group: RiskGroup,
    profile: dict[str, Any],
    institution: Institution | None = None,
) -> KycApplication | None:
    """A submitted application, unless the applicant already has one in the group."""
    holder = {"institution": institution} if institution else {"applicant": user}
    if KycApplication.objects.filter(risk_group=group, **holder).exists():
        return None
    application = kyc_application_create(
        actor=user,
        risk_group=group,
        kind="institution" if institution else "person",
        institution=institution,
        profile=profile,
    )
    _documents(application)
    return kyc_application_submit(actor=user, application=application)


def _person_profile(name: str, nationality: str, residence: str) -> dict[str, Any]:
    return {
        "legal_name": name,
        "date_of_birth": "1988-04-12",
        "nationality": nationality,
        "country_of_residence": residence,
        "address": "1 Demo Street, Demo City",
    }


def seed_demo_data(stdout: TextIO) -> None:
    house = Institution.objects.filter(slug="exchange-os-house").first()
    regulated, open_group = (_group(spec, house) for spec in GROUPS)
    kyc_admin = User.objects.filter(email="kyc@demo.exchange-os.test").first()
    site_admin = User.objects.filter(email="admin@demo.exchange-os.test").first()
    trader = User.objects.filter(email="trader@demo.exchange-os.test").first()
    member = User.objects.filter(email="institution@demo.exchange-os.test").first()

    # The demo trader trades in both groups; the house institution proposes in the regulated one.
    if trader is not None and kyc_admin is not None:
        if not Membership.objects.filter(user=trader, risk_group=open_group).exists():
            membership_join(
                user=trader, risk_group=open_group, country_of_residence="GB", accept_terms=True
            )
        approved = _apply(trader, regulated, _person_profile("Demo Trader", "GB", "GB"))
        if approved is not None:
            kyc_application_approve(actor=kyc_admin, application=approved, note="Demo approval")
    if house is not None and member is not None and kyc_admin and site_admin:
        kyb = _apply(
            member,
            regulated,
            {
                "registration_number": "HRB 424242",
                "jurisdiction": "CH",
                "registered_address": "Bahnhofstrasse 1, 8001 Zürich",
                "beneficial_owners": [
                    {"name": "Exchange OS Foundation", "country": "CH", "share_percent": "100"}
                ],
            },
            institution=house,
        )
        if kyb is not None:  # four eyes: two different KYC admins approve
            kyc_application_approve(actor=kyc_admin, application=kyb, note="Demo approval")
            kyc_application_approve(actor=site_admin, application=kyb, note="Second approval")

    # Applicants waiting for review (one is rejected at once: a blocked jurisdiction).
    for email, name, nationality, residence in PENDING:
        _apply(demo_user(email, name), regulated, _person_profile(name, nationality, residence))
    name, email = PENDING_INSTITUTION
    owner = demo_user(email, "Northwind admin")
    northwind, _ = Institution.objects.get_or_create(
        slug="northwind-capital", defaults={"name": name}
    )
    InstitutionMembership.objects.get_or_create(
        institution=northwind, user=owner, defaults={"role": InstitutionMembership.Role.ADMIN}
    )
    _apply(
        owner,
        regulated,
        {
            "registration_number": "LEI 5493001KJTIIGC8Y1R12",
            "jurisdiction": "GB",
            "registered_address": "1 Canada Square, London",
            "beneficial_owners": [
                {"name": "Grace Hopper", "country": "US", "share_percent": "55"},
                {"name": "Alan Turing", "country": "GB", "share_percent": "45"},
            ],
        },
        institution=northwind,
    )
    stdout.write(
        f"Risk groups: {regulated.name} (KYC) and {open_group.name} (permissionless); "
        f"{KycApplication.objects.filter(status='submitted').count()} KYC applications "
        "wait at /staff/kyc/."
    )
