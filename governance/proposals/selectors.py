"""Reads of XIPs for pages and the API: the filtered list, revision diffs, spec rows."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Proposal, ProposalRevision, ProposalStatus, ProposalType


def proposal_list(
    *, status: str = "", proposal_type: str = "", risk_group: str = "", q: str = ""
) -> QuerySet[Proposal]:
    """Proposals, newest first, filtered by status, type and group slug, searched by text
    (title, body, institution, or an XIP number as "XIP-12" or "12")."""
    proposals = Proposal.objects.select_related("risk_group", "institution")
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
