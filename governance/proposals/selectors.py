"""Reads of XIPs for pages and the API: the filtered list, revision diffs, spec rows."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from xip_portal.models import RoleAssignment, StaffRole
from xip_portal.roles import staff_roles

from .models import Proposal, ProposalRevision, ProposalStatus, ProposalType

PROPOSAL_KEY = re.compile(r"(?:XIP-(?P<number>[0-9]{1,9})|draft-(?P<pk>[0-9]{1,18}))")


def proposals_visible_to(viewer: Any) -> QuerySet[Proposal]:
    """The proposals `viewer` may see: Review and later are public; a Draft only to its
    authors and the XIP editors of its group (site admins see everything)."""
    proposals = Proposal.objects.all()
    if StaffRole.SITE_ADMIN in staff_roles(viewer):
        return proposals
    visible = ~Q(status=ProposalStatus.DRAFT)
    if viewer.is_authenticated:
        edited = RoleAssignment.objects.filter(user=viewer, role=StaffRole.XIP_EDITOR)
        if edited.filter(risk_group__isnull=True).exists():
            return proposals
        visible |= Q(authors=viewer) | Q(risk_group__in=edited.values("risk_group"))
    # `authors` is many-to-many: filtering on it may repeat a row, the subquery never does.
    return proposals.filter(pk__in=Proposal.objects.filter(visible).values("pk"))


def proposal_by_key(*, viewer: Any, key: str) -> Proposal | None:
    """The proposal a page URL names (`XIP-11` or `draft-7`), if `viewer` may see it."""
    match = PROPOSAL_KEY.fullmatch(key)
    if match is None:
        return None
    if match["number"]:
        lookup = {"number": int(match["number"])}
    else:
        lookup = {"pk": int(match["pk"])}
    return (
        proposals_visible_to(viewer)
        .select_related("risk_group", "institution", "operator_approved_by")
        .filter(**lookup)
        .first()
    )


def proposal_list(
    *, viewer: Any, status: str = "", proposal_type: str = "", risk_group: str = "", q: str = ""
) -> QuerySet[Proposal]:
    """The proposals `viewer` may see, newest first, filtered by status, type and group slug,
    searched by text (title, body, institution, or an XIP number as "XIP-12" or "12")."""
    proposals = proposals_visible_to(viewer).select_related("risk_group", "institution")
    if status in ProposalStatus.values:
        proposals = proposals.filter(status=status)
    if proposal_type in ProposalType.values:
        proposals = proposals.filter(proposal_type=proposal_type)
    if risk_group:
        proposals = proposals.filter(risk_group__slug=risk_group)
    q = q.strip()
    if q:
        text = Q(title__icontains=q) | Q(body__icontains=q) | Q(institution__name__icontains=q)
        number = re.fullmatch(r"(?i)(?:xip-?)?(\d{1,9})", q)
        if number:
            text |= Q(number=int(number.group(1)))
        proposals = proposals.filter(text)
    return proposals.order_by("-number", "-id")


@dataclass(frozen=True)
class RevisionDiff:
    revision: ProposalRevision
    diff: str


def _revision_text(revision: ProposalRevision) -> list[str]:
    spec = json.dumps(revision.spec, indent=2, sort_keys=True)
    return [f"# {revision.title}", "", *revision.body.splitlines(), "", "spec:", *spec.splitlines()]


def proposal_revision_diffs(proposal: Proposal) -> list[RevisionDiff]:
    """Each revision with the unified diff from the one before it (revision 1: none)."""
    revisions = list(proposal.revisions.select_related("author").order_by("number"))
    diffs = []
    previous: ProposalRevision | None = None
    for revision in revisions:
        diff = ""
        if previous is not None:
            diff = "\n".join(
                difflib.unified_diff(
                    _revision_text(previous),
                    _revision_text(revision),
                    fromfile=f"r{previous.number}",
                    tofile=f"r{revision.number}",
                    lineterm="",
                )
            )
        diffs.append(RevisionDiff(revision=revision, diff=diff))
        previous = revision
    return list(reversed(diffs))
