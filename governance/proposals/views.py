"""XIP pages: the list, the draft editor, the proposal page, and the actions of authors,
members, editors and operators (each one service call)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from governance.memberships.services import membership_allows
from governance.risk_groups.models import RiskGroup
from markets.specs import spec_rows
from xip_portal.errors import (
    ApplicationError,
    NotFound,
    errors_as_messages,
    form_add_application_error,
)
from xip_portal.models import StaffRole, User
from xip_portal.pagination import page_of
from xip_portal.roles import acting_user, staff_role_required

from . import services
from .forms import CommentForm, ProposalForm, spec_to_initial
from .models import Proposal, ProposalComment, ProposalStatus, ProposalType, ProposalVote
from .selectors import proposal_list as proposals_filtered
from .selectors import proposal_revision_diffs


def proposal_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "status": request.GET.get("status", ""),
        "proposal_type": request.GET.get("type", ""),
        "risk_group": request.GET.get("group", ""),
        "q": request.GET.get("q", "")[:200],
    }
    page = page_of(request, proposals_filtered(**filters))
    return render(
        request,
        "governance/proposals/list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": ProposalStatus.choices,
            "types": ProposalType.choices,
            "groups": RiskGroup.objects.order_by("name").values_list("slug", "name"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    proposal_type = request.GET.get("type", "")
    if proposal_type not in ProposalType.values:
        return render(request, "governance/proposals/new_type.html", {"types": ProposalType})
    form = ProposalForm(request.POST or None, user=user, proposal_type=proposal_type)
    if request.method == "POST" and form.is_valid():
        try:
            proposal = services.proposal_create(
                actor=user,
                title=form.cleaned_data["title"],
                proposal_type=proposal_type,
                risk_group=form.cleaned_data["risk_group"],
                institution=form.cleaned_data["institution"],
                body=form.cleaned_data["body"],
                spec=form.spec_data(),
                coauthor_emails=form.cleaned_data["coauthors"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Draft saved. Submit it for review when it is ready.")
            return redirect("proposal_detail", pk=proposal.pk)
    return render(
        request,
        "governance/proposals/edit.html",
        {"form": form, "type_label": ProposalType(proposal_type).label, "proposal": None},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    proposal = get_object_or_404(Proposal.objects.select_related("risk_group"), pk=pk)
    if not services.is_author(user, proposal):
        raise NotFound("You can only edit your own proposals.")
    initial = {"title": proposal.title, "body": proposal.body}
    initial |= spec_to_initial(proposal.proposal_type, proposal.spec)
    form = ProposalForm(
        request.POST or None,
        initial=initial,
        user=user,
        proposal_type=proposal.proposal_type,
        proposal=proposal,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.proposal_update(
                actor=user,
                proposal=proposal,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                spec=form.spec_data(),
                summary=form.cleaned_data["summary"],
                normative=form.cleaned_data["normative"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("proposal_detail", pk=proposal.pk)
    return render(
        request,
        "governance/proposals/edit.html",
        {"form": form, "type_label": proposal.get_proposal_type_display(), "proposal": proposal},
        status=400 if form.errors else 200,
    )


def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(
        Proposal.objects.select_related("risk_group", "institution", "operator_approved_by"),
        pk=pk,
    )
    user = request.user
    authors = list(proposal.authors.all())
    my_vote = None
    can_vote = False
    if user.is_authenticated and proposal.is_in_last_call():
        my_vote = ProposalVote.objects.filter(
            proposal=proposal, voter=user, round=proposal.last_call_round
        ).first()
        can_vote = membership_allows(user=user, risk_group=proposal.risk_group, action="propose")
    context: dict[str, Any] = {
        "proposal": proposal,
        "authors": authors,
        "is_author": user.is_authenticated and user in authors,
        "is_editor": services.is_editor(user, proposal.risk_group),
        "is_operator": services.is_operator(user, proposal.risk_group),
        "is_subscribed": user.is_authenticated and proposal.subscribers.filter(pk=user.pk).exists(),
        "timeline": proposal.transitions.select_related("actor"),
        "spec_rows": spec_rows(proposal.spec),
        "tally": services.vote_tally(proposal) if proposal.last_call_round else None,
        "can_vote": can_vote,
        "my_vote": my_vote,
        "comments": proposal.comments.select_related("author", "upheld_by"),
        "revisions": proposal_revision_diffs(proposal),
        "comment_form": CommentForm(),
        "market": getattr(proposal, "listed_market", None),
    }
    return render(request, "governance/proposals/detail.html", context)


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")[:2000]


def _member_action(user: User, proposal: Proposal, action: str, request: HttpRequest) -> str:
    """Runs one author or member action; returns the message to show."""
    reason = _reason(request)
    if action == "submit":
        services.proposal_submit(actor=user, proposal=proposal)
        return "Submitted: the proposal is in Review."
    if action == "withdraw":
        services.proposal_withdraw(actor=user, proposal=proposal, reason=reason)
        return "Withdrawn."
    if action == "revive":
        services.proposal_revive(actor=user, proposal=proposal, reason=reason)
        return "Revived: the proposal is a Draft again."
    if action == "vote":
        services.proposal_vote(actor=user, proposal=proposal, choice=request.POST.get("choice", ""))
        return "Your vote is recorded."
    if action in ("subscribe", "unsubscribe"):
        subscribed = action == "subscribe"
        services.proposal_subscribe(actor=user, proposal=proposal, subscribed=subscribed)
        return "Subscribed." if subscribed else "Unsubscribed."
    if action == "comment":
        form = CommentForm(request.POST)
        if not form.is_valid():
            raise ApplicationError("Write a comment first.", fields={"body": ["Required."]})
        services.proposal_comment_add(actor=user, proposal=proposal, **form.cleaned_data)
        return "Posted."
    raise NotFound(f"There is no action {action!r}.")


@login_required
@require_POST
def proposal_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Author and member actions; a refusal comes back as a message on the proposal page."""
    user = acting_user(request)
    proposal = get_object_or_404(Proposal, pk=pk)
    with errors_as_messages(request):
        messages.success(request, _member_action(user, proposal, action, request))
    return redirect("proposal_detail", pk=pk)


def _staff_action(user: User, proposal: Proposal, action: str, request: HttpRequest) -> str:
    reason = _reason(request)
    if action == "last-call":
        services.proposal_last_call_start(actor=user, proposal=proposal, reason=reason)
        return "The proposal is in Last Call."
    if action == "send-back":
        services.proposal_send_back(actor=user, proposal=proposal, reason=reason)
        return "Sent back with your comment."
    if action == "reject":
        services.proposal_reject(actor=user, proposal=proposal, reason=reason)
        return "Rejected."
    if action == "approve":
        services.proposal_operator_approve(actor=user, proposal=proposal, reason=reason)
        return "Approved by the operator."
    if action == "uphold":
        comment_id = request.POST.get("comment", "")
        comment = ProposalComment.objects.filter(
            pk=int(comment_id) if comment_id.isdigit() else 0, proposal=proposal
        ).first()
        if comment is None:
            raise NotFound("There is no such objection on this proposal.")
        services.proposal_objection_uphold(actor=user, comment=comment, reason=reason)
        return "Objection upheld: the proposal is back in Review."
    raise NotFound(f"There is no action {action!r}.")


@staff_role_required(StaffRole.XIP_EDITOR, StaffRole.RISK_GROUP_OPERATOR)
@require_POST
def proposal_staff_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Editors' and operators' decisions; the service checks the role in the proposal's group."""
    user = acting_user(request)
    proposal = get_object_or_404(Proposal, pk=pk)
    with errors_as_messages(request):
        messages.success(request, _staff_action(user, proposal, action, request))
    return redirect("proposal_detail", pk=pk)
