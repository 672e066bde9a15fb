"""Demo data of the governance app: the risk groups (called by `manage.py seed_demo`)."""

from typing import TextIO

from .models import RiskGroup


def seed_demo_data(stdout: TextIO) -> None:
    for slug, name, kind in [
        ("regulated-main", "Regulated Main", RiskGroup.Kind.KYC_REGULATED),
        ("open-markets", "Open Markets", RiskGroup.Kind.PERMISSIONLESS),
    ]:
        RiskGroup.objects.get_or_create(slug=slug, defaults={"name": name, "kind": kind})
