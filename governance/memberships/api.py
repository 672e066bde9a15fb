"""REST API of memberships: users join permissionless groups and list their memberships;
a group's operator or KYC admin lists its members and revokes a membership (staff, with
two-factor)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.risk_groups.models import RiskGroup
from governance.risk_groups.services import risk_group_get
from xip_portal.api_input import input_validated
from xip_portal.models import Institution
from xip_portal.roles import HasStaffRoleWithTwoFactor, acting_user

from .models import Membership
from .services import membership_join, membership_revoke, memberships_of, memberships_of_group


class RiskGroupMembershipOutput(serializers.ModelSerializer[Membership]):
    risk_group = serializers.SlugRelatedField[RiskGroup](slug_field="slug", read_only=True)
    institution = serializers.SlugRelatedField[Institution](slug_field="slug", read_only=True)
    country = serializers.CharField(source="country.code", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "risk_group",
            "institution",
            "tier",
            "status",
            "source",
            "valid_until",
            "country",
            "created_at",
        ]


class JoinApi(APIView):
    class JoinInput(serializers.Serializer[Any]):
        country_of_residence = serializers.CharField(max_length=2)
        accept_terms = serializers.BooleanField()

    @extend_schema(
        request=JoinInput,
        responses={201: RiskGroupMembershipOutput},
        summary="Join a permissionless group by accepting its terms",
    )
    def post(self, request: Request, slug: str) -> Response:
        fields = input_validated(request, self.JoinInput)
        membership = membership_join(
            user=acting_user(request),
            risk_group=risk_group_get(slug=slug),
            **fields,
        )
        return Response(RiskGroupMembershipOutput(membership).data, status=201)


class MembershipListApi(APIView):
    @extend_schema(
        responses=RiskGroupMembershipOutput(many=True),
        summary="My memberships and those of my institutions",
    )
    def get(self, request: Request) -> Response:
        memberships = memberships_of(user=acting_user(request)).select_related(
            "risk_group", "institution"
        )
        return Response(RiskGroupMembershipOutput(memberships, many=True).data)


STAFF_PERMISSIONS = [IsAuthenticated, HasStaffRoleWithTwoFactor]


class StaffMembershipOutput(RiskGroupMembershipOutput):
    user = serializers.EmailField(source="user.email", read_only=True, default=None)

    class Meta(RiskGroupMembershipOutput.Meta):
        fields = ["id", "user", *RiskGroupMembershipOutput.Meta.fields]


class GroupMembersApi(APIView):
    permission_classes = STAFF_PERMISSIONS

    @extend_schema(
        responses=StaffMembershipOutput(many=True),
        summary="The active members of a group I operate or review KYC for",
    )
    def get(self, request: Request, slug: str) -> Response:
        memberships = memberships_of_group(
            actor=acting_user(request), risk_group=risk_group_get(slug=slug)
        ).select_related("risk_group")
        return Response(StaffMembershipOutput(memberships, many=True).data)


class MembershipRevokeApi(APIView):
    permission_classes = STAFF_PERMISSIONS

    class RevokeInput(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        request=RevokeInput,
        responses=StaffMembershipOutput,
        summary="Revoke a membership with a reason; the member's open orders are cancelled",
    )
    def post(self, request: Request, pk: int) -> Response:
        fields = input_validated(request, self.RevokeInput)
        membership = membership_revoke(
            actor=acting_user(request),
            membership=get_object_or_404(Membership, pk=pk),
            reason=fields["reason"],
        )
        return Response(StaffMembershipOutput(membership).data)
