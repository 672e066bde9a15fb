"""REST API of the portal's own objects: who am I, institutions and their members."""

from __future__ import annotations

from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Institution, InstitutionMembership
from .roles import acting_user, role_labels
from .services import institution_create, institution_member_add


class InstitutionOutput(serializers.ModelSerializer[Institution]):
    class Meta:
        model = Institution
        fields = ["name", "slug", "website", "created_at"]


class MembershipOutput(serializers.Serializer[InstitutionMembership]):
    institution = InstitutionOutput()
    role = serializers.CharField()


class MeOutput(serializers.Serializer[dict[str, Any]]):
    email = serializers.EmailField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    two_factor_enabled = serializers.BooleanField()
    institutions = MembershipOutput(many=True)


class MeApi(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user, their roles and institutions")
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        data: dict[str, Any] = {
            "email": user.email,
            "display_name": user.display_name,
            "roles": role_labels(user),
            "two_factor_enabled": is_mfa_enabled(user),
            "institutions": user.institution_memberships.select_related("institution"),
        }
        return Response(MeOutput(data).data)


class InstitutionCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    website = serializers.URLField(required=False, default="")


class InstitutionMemberInput(serializers.Serializer[Any]):
    email = serializers.EmailField()
    role = serializers.ChoiceField(
        choices=InstitutionMembership.Role.choices, default=InstitutionMembership.Role.MEMBER
    )


class InstitutionMemberOutput(serializers.Serializer[InstitutionMembership]):
    # The member's display name: the API returns no one's e-mail address but the caller's own.
    member = serializers.CharField(source="user.__str__")
    role = serializers.CharField()


class InstitutionListApi(APIView):
    @extend_schema(responses=InstitutionOutput(many=True), summary="Institutions I belong to")
    def get(self, request: Request) -> Response:
        institutions = Institution.objects.filter(members=acting_user(request))
        return Response(InstitutionOutput(institutions, many=True).data)

    @extend_schema(
        request=InstitutionCreateInput,
        responses={201: InstitutionOutput},
        summary="Create an institution (you become its administrator)",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        payload = InstitutionCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        institution = institution_create(actor=user, **payload.validated_data)
        return Response(InstitutionOutput(institution).data, status=status.HTTP_201_CREATED)


class InstitutionMemberApi(APIView):
    @extend_schema(
        request=InstitutionMemberInput,
        responses={201: InstitutionMemberOutput},
        summary="Add a member to an institution (administrators only)",
    )
    def post(self, request: Request, slug: str) -> Response:
        user = acting_user(request)
        institution = get_object_or_404(Institution, slug=slug, members=user)
        payload = InstitutionMemberInput(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = institution_member_add(
            actor=user, institution=institution, **payload.validated_data
        )
        return Response(InstitutionMemberOutput(membership).data, status=status.HTTP_201_CREATED)
