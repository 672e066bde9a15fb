"""XIP pages: the list, the draft editor, the proposal page, and the actions of authors,
members, editors and operators (each one service call)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from governance.memberships.services import membership_allows
from governance.risk_groups.models import MarketType, RiskGroup
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
from .dry_run import DEFAULT_GAP_BPS, GAP_CHOICES, proposal_dry_run
from .forms import CommentForm, ProposalForm, spec_to_initial
from .models import Proposal, ProposalComment, ProposalStatus, ProposalType, ProposalVote
from .selectors import proposal_by_key, proposal_revision_diffs, proposals_visible_to
from .selectors import proposal_list as proposals_filtered


def proposal_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "status": request.GET.get("status", ""),
        "proposal_type": request.GET.get("type", ""),
        "risk_group": request.GET.get("group", ""),
        "q": request.GET.get("q", "")[:200],
    }
    page = page_of(request, proposals_filtered(viewer=request.user, **filters))
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
    market_type = request.GET.get("market_type", "")
    if proposal_type not in ProposalType.values or (
        proposal_type == ProposalType.MARKET and market_type not in MarketType.values
    ):
        return render(
            request,
            "governance/proposals/new_type.html",
            {"types": ProposalType, "market_types": MarketType},
        )
    form = _editor_form(
        request, initial={}, user=user, proposal_type=proposal_type, market_type=market_type
    )
    if form.is_bound and form.is_valid():
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
            return redirect(proposal)
    return _editor_page(request, form, type_label=ProposalType(proposal_type).label)


def _previewing(request: HttpRequest) -> bool:
    return request.method == "POST" and "preview" in request.POST


def _editor_form(request: HttpRequest, *, initial: dict[str, Any], **kw: Any) -> ProposalForm:
    """The draft editor bound to what was posted; a preview shows the posted values again,
    unbound, so a half-written draft is not told what it still lacks."""
    if _previewing(request):
        return ProposalForm(None, initial=initial | request.POST.dict(), **kw)
    return ProposalForm(request.POST if request.method == "POST" else None, initial=initial, **kw)


def _editor_page(
    request: HttpRequest, form: ProposalForm, *, type_label: str, proposal: Proposal | None = None
) -> HttpResponse:
    """The editor, with the body rendered as the proposal page will show it on a preview."""
    preview = request.POST.get("body", "") if _previewing(request) else None
    context = {"form": form, "type_label": type_label, "proposal": proposal, "preview": preview}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "governance/proposals/edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, key: str) -> HttpResponse:
    user = acting_user(request)
    proposal = _proposal_at(request, key)
    if key != proposal.key:
        return redirect("proposal_edit", key=proposal.key, permanent=True)
    if not services.is_author(user, proposal):
        raise NotFound("You can only edit your own proposals.")
    initial = {"title": proposal.title, "body": proposal.body}
    initial |= spec_to_initial(proposal.proposal_type, proposal.spec)
    form = _editor_form(
        request,
        initial=initial,
        user=user,
        proposal_type=proposal.proposal_type,
        market_type=str(proposal.spec.get("market_type") or ""),
        proposal=proposal,
    )
    if form.is_bound and form.is_valid():
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
            return redirect(proposal)
    return _editor_page(
        request, form, type_label=proposal.get_proposal_type_display(), proposal=proposal
    )


def _proposal_at(request: HttpRequest, key: str) -> Proposal:
    """The proposal a page URL names, or 404 (also for a Draft the viewer may not see)."""
    proposal = proposal_by_key(viewer=request.user, key=key)
    if proposal is None:
        raise NotFound(f"There is no proposal {key}.")
    return proposal


def proposal_detail(request: HttpRequest, key: str) -> HttpResponse:
    proposal = _proposal_at(request, key)
    if key != proposal.key:  # a draft's URL after it got its number
        return redirect(proposal, permanent=True)
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
    context |= _dry_run_panel(request, proposal, is_editor=context["is_editor"])
    return render(request, "governance/proposals/detail.html", context)


def _dry_run_panel(request: HttpRequest, proposal: Proposal, *, is_editor: bool) -> dict[str, Any]:
    """A perpetual market XIP's dry-run: run on request (`?gap=`), and for its editors at
    the default gap while they decide on Last Call."""
    spec = proposal.spec or {}
    if proposal.proposal_type != ProposalType.MARKET or spec.get("market_type") != "perp":
        return {}
    gap_text = request.GET.get("gap", "")
    gap = int(gap_text) if gap_text.isdigit() and len(gap_text) < 6 else None
    if gap is None and is_editor and proposal.status == ProposalStatus.REVIEW:
        gap = DEFAULT_GAP_BPS
    result, error = None, ""
    if gap is not None:
        try:
            result = proposal_dry_run(spec=spec, gap_bps=gap)
        except ApplicationError as refused:
            error = refused.message
    return {"dry_run": result, "dry_run_error": error, "dry_run_gaps": GAP_CHOICES}


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
def proposal_action(request: HttpRequest, key: str, action: str) -> HttpResponse:
    """Author and member actions; a refusal comes back as a message on the proposal page."""
    user = acting_user(request)
    proposal = _proposal_at(request, key)
    with errors_as_messages(request):
        messages.success(request, _member_action(user, proposal, action, request))
    proposal.refresh_from_db(fields=["number"])  # submitting gives a Draft its number
    return redirect(proposal)


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
def proposal_staff_action(request: HttpRequest, key: str, action: str) -> HttpResponse:
    """Editors' and operators' decisions; the service checks the role in the proposal's group."""
    user = acting_user(request)
    proposal = _proposal_at(request, key)
    with errors_as_messages(request):
        messages.success(request, _staff_action(user, proposal, action, request))
    return redirect(proposal)


def proposal_by_id_redirect(request: HttpRequest, pk: int, rest: str = "") -> HttpResponse:
    """The proposal URLs of before XIP numbers (`/proposals/12/...`) lead to today's."""
    proposal = get_object_or_404(proposals_visible_to(request.user), pk=pk)
    target = f"{proposal.get_absolute_url()}{rest}"
    # A form's POST stays a POST (308); a page visit is moved for good (301).
    return HttpResponsePermanentRedirect(target, preserve_request=request.method != "GET")
