"""REST API of XIPs: list and search, draft, edit, the lifecycle actions, votes and the
discussion. Reads are public; writes need a login; editors' and operators' actions also
need two-factor authentication."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.risk_groups.models import RiskGroup
from xip_portal.errors import NotFound
from xip_portal.models import Institution, User
from xip_portal.pagination import api_page
from xip_portal.roles import acting_user, two_factor_require

from . import services
from .models import (
    Proposal,
    ProposalComment,
    ProposalRevision,
    ProposalStatus,
    ProposalTransition,
    ProposalType,
)
from .selectors import proposal_list, proposal_revision_diffs


class ProposalSummaryOutput(serializers.ModelSerializer[Proposal]):
    xip = serializers.CharField(source="label")
    proposal_type = serializers.ChoiceField(choices=ProposalType.choices)
    status = serializers.ChoiceField(choices=ProposalStatus.choices)
    risk_group: serializers.SlugRelatedField[RiskGroup] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    institution: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "number",
            "xip",
            "title",
            "proposal_type",
            "status",
            "risk_group",
            "institution",
            "last_call_ends_at",
            "created_at",
            "updated_at",
        ]


class TransitionOutput(serializers.ModelSerializer[ProposalTransition]):
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = ProposalTransition
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]


class CommentOutput(serializers.ModelSerializer[ProposalComment]):
    author: serializers.StringRelatedField[User] = serializers.StringRelatedField()
    upheld_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = ProposalComment
        fields = ["id", "kind", "author", "body", "upheld_by", "upheld_at", "created_at"]


class RevisionOutput(serializers.ModelSerializer[ProposalRevision]):
    author: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = ProposalRevision
        fields = ["number", "title", "author", "summary", "normative", "created_at"]


class TallyOutput(serializers.Serializer[Any]):
    round = serializers.IntegerField()
    votes_for = serializers.IntegerField()
    votes_against = serializers.IntegerField()
    quorum = serializers.IntegerField()
    threshold_bps = serializers.IntegerField()
    rejects = serializers.BooleanField()


class ProposalDetailOutput(ProposalSummaryOutput):
    authors: serializers.StringRelatedField[User] = serializers.StringRelatedField(many=True)
    body = serializers.CharField()
    spec = serializers.JSONField()
    revision = serializers.IntegerField()
    bond_amount = serializers.DecimalField(max_digits=30, decimal_places=8, allow_null=True)
    bond_asset = serializers.CharField()
    operator_approved_at = serializers.DateTimeField(allow_null=True)
    market = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    votes = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()
    revisions = serializers.SerializerMethodField()

    class Meta(ProposalSummaryOutput.Meta):
        fields = [
            *ProposalSummaryOutput.Meta.fields,
            "authors",
            "body",
            "spec",
            "revision",
            "bond_amount",
            "bond_asset",
            "operator_approved_at",
            "market",
            "timeline",
            "votes",
            "comments",
            "revisions",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_market(self, proposal: Proposal) -> str | None:
        market = getattr(proposal, "listed_market", None)
        return market.symbol if market is not None else None

    @extend_schema_field(TransitionOutput(many=True))
    def get_timeline(self, proposal: Proposal) -> list[dict[str, Any]]:
        steps = proposal.transitions.select_related("actor")
        return list(TransitionOutput(steps, many=True).data)

    @extend_schema_field(TallyOutput(allow_null=True))
    def get_votes(self, proposal: Proposal) -> dict[str, Any] | None:
        if not proposal.last_call_round:
            return None
        tally = services.vote_tally(proposal)
        return dict(
            TallyOutput(
                {
                    "round": proposal.last_call_round,
                    "votes_for": tally.votes_for,
                    "votes_against": tally.votes_against,
                    "quorum": tally.quorum,
                    "threshold_bps": tally.threshold_bps,
                    "rejects": tally.rejects,
                }
            ).data
        )

    @extend_schema_field(CommentOutput(many=True))
    def get_comments(self, proposal: Proposal) -> list[dict[str, Any]]:
        comments = proposal.comments.select_related("author", "upheld_by")
        return list(CommentOutput(comments, many=True).data)

    def get_revisions(self, proposal: Proposal) -> list[dict[str, Any]]:
        return [
            {**RevisionOutput(item.revision).data, "diff": item.diff}
            for item in proposal_revision_diffs(proposal)
        ]


def _detail(proposal: Proposal) -> dict[str, Any]:
    fresh = Proposal.objects.select_related("risk_group", "institution").get(pk=proposal.pk)
    return dict(ProposalDetailOutput(fresh).data)


class ProposalListApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    class ProposalCreateInput(serializers.Serializer[Any]):
        title = serializers.CharField(max_length=200)
        proposal_type = serializers.ChoiceField(choices=ProposalType.choices)
        risk_group: serializers.SlugRelatedField[RiskGroup] = serializers.SlugRelatedField(
            slug_field="slug", queryset=RiskGroup.objects.all()
        )
        institution: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
            slug_field="slug", queryset=Institution.objects.all(), required=False, allow_null=True
        )
        body = serializers.CharField(required=False, allow_blank=True, default="")
        spec = serializers.DictField(required=False, default=dict)
        coauthor_emails = serializers.ListField(
            child=serializers.EmailField(), required=False, default=list
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=ProposalStatus.values),
            OpenApiParameter("type", enum=ProposalType.values),
            OpenApiParameter("group", description="Risk group slug"),
            OpenApiParameter("q", description="Text search, or an XIP number"),
        ],
        responses=ProposalSummaryOutput(many=True),
        summary="XIPs, newest first, filtered and searched",
    )
    def get(self, request: Request) -> Response:
        proposals = proposal_list(
            status=request.query_params.get("status", ""),
            proposal_type=request.query_params.get("type", ""),
            risk_group=request.query_params.get("group", ""),
            q=request.query_params.get("q", "")[:200],
        )
        return api_page(request, self, proposals, ProposalSummaryOutput)

    @extend_schema(
        request=ProposalCreateInput,
        responses={201: ProposalDetailOutput},
        summary="Draft an XIP (the spec is checked against the group's bounds)",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        payload = self.ProposalCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        proposal = services.proposal_create(actor=user, **payload.validated_data)
        return Response(_detail(proposal), status=status.HTTP_201_CREATED)


class ProposalDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    class ProposalEditInput(serializers.Serializer[Any]):
        title = serializers.CharField(max_length=200)
        body = serializers.CharField(required=False, allow_blank=True, default="")
        spec = serializers.DictField(required=False, default=dict)
        summary = serializers.CharField(required=False, allow_blank=True, default="")
        normative = serializers.BooleanField(required=False, default=False)

    @extend_schema(responses=ProposalDetailOutput, summary="One XIP with its timeline and thread")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(get_object_or_404(Proposal, pk=pk)))

    @extend_schema(
        request=ProposalEditInput,
        responses=ProposalDetailOutput,
        summary="Edit an XIP (authors; a revision after submission)",
    )
    def put(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        proposal = get_object_or_404(Proposal, pk=pk)
        payload = self.ProposalEditInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.proposal_update(actor=user, proposal=proposal, **payload.validated_data)
        return Response(_detail(proposal))


STAFF_ACTIONS = {"last-call", "send-back", "reject", "approve"}
ACTIONS = {"submit", "withdraw", "revive", "vote", *STAFF_ACTIONS}


def _run_action(user: User, proposal: Proposal, action: str, data: dict[str, Any]) -> None:
    reason = str(data.get("reason") or "")[:2000]
    if action == "submit":
        services.proposal_submit(actor=user, proposal=proposal)
    elif action == "withdraw":
        services.proposal_withdraw(actor=user, proposal=proposal, reason=reason)
    elif action == "revive":
        services.proposal_revive(actor=user, proposal=proposal, reason=reason)
    elif action == "vote":
        services.proposal_vote(actor=user, proposal=proposal, choice=str(data.get("choice", "")))
    elif action == "last-call":
        services.proposal_last_call_start(actor=user, proposal=proposal, reason=reason)
    elif action == "send-back":
        services.proposal_send_back(actor=user, proposal=proposal, reason=reason)
    elif action == "reject":
        services.proposal_reject(actor=user, proposal=proposal, reason=reason)
    elif action == "approve":
        services.proposal_operator_approve(actor=user, proposal=proposal, reason=reason)


class ProposalActionApi(APIView):
    class ProposalActionInput(serializers.Serializer[Any]):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        choice = serializers.ChoiceField(choices=["for", "against"], required=False)

    @extend_schema(
        request=ProposalActionInput,
        responses=ProposalDetailOutput,
        summary="Lifecycle action: submit, withdraw, revive, vote (choice), or for editors "
        "last-call, send-back, reject (reason), for operators approve",
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        user = acting_user(request)
        if action not in ACTIONS:
            raise NotFound(f"There is no action {action!r}; one of {', '.join(sorted(ACTIONS))}.")
        if action in STAFF_ACTIONS:
            two_factor_require(user)
        proposal = get_object_or_404(Proposal, pk=pk)
        payload = self.ProposalActionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        _run_action(user, proposal, action, payload.validated_data)
        return Response(_detail(proposal))


class ProposalCommentApi(APIView):
    class ProposalCommentInput(serializers.Serializer[Any]):
        body = serializers.CharField(max_length=20_000)
        kind = serializers.ChoiceField(choices=["comment", "objection"], default="comment")

    @extend_schema(
        request=ProposalCommentInput,
        responses={201: CommentOutput},
        summary="Comment, or object during Last Call",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        proposal = get_object_or_404(Proposal, pk=pk)
        payload = self.ProposalCommentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = services.proposal_comment_add(
            actor=user, proposal=proposal, **payload.validated_data
        )
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


class ObjectionUpholdApi(APIView):
    class ObjectionUpholdInput(serializers.Serializer[Any]):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        request=ObjectionUpholdInput,
        responses=ProposalDetailOutput,
        summary="Uphold an objection (editors): the XIP goes back to Review",
    )
    def post(self, request: Request, pk: int, comment_id: int) -> Response:
        user = acting_user(request)
        two_factor_require(user)
        comment = get_object_or_404(ProposalComment, pk=comment_id, proposal_id=pk)
        payload = self.ObjectionUpholdInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.proposal_objection_uphold(
            actor=user, comment=comment, reason=payload.validated_data.get("reason", "")
        )
        return Response(_detail(comment.proposal))
