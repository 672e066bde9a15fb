"""REST API of KYC: applicants create, edit, upload to (multipart) and submit their own
applications; the groups' KYC admins (with two-factor) list their queue, read a case with
its documents and history, and decide."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.memberships.models import Membership
from governance.risk_groups.models import RiskGroup
from xip_portal.api_input import input_validated
from xip_portal.errors import NotFound
from xip_portal.models import AuditEntry, Institution, StaffRole
from xip_portal.pagination import api_page
from xip_portal.roles import HasStaffRoleWithTwoFactor, acting_user, staff_roles

from .documents import (
    kyc_document_add,
    kyc_document_open,
    kyc_document_remove,
    kyc_document_response,
)
from .models import KycApplication, KycDocument, KycStatus
from .services import (
    QUEUE_MAX_AGE_DAYS,
    kyc_application_create,
    kyc_application_decide,
    kyc_application_for_review,
    kyc_application_history,
    kyc_application_own,
    kyc_application_submit,
    kyc_application_update,
    kyc_applications_of,
    kyc_review_queue,
)


class DocumentOutput(serializers.ModelSerializer[KycDocument]):
    class Meta:
        model = KycDocument
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "created_at"]


class ApplicationOutput(serializers.ModelSerializer[KycApplication]):
    risk_group = serializers.SlugRelatedField[RiskGroup](slug_field="slug", read_only=True)
    institution = serializers.SlugRelatedField[Institution](slug_field="slug", read_only=True)
    nationality = serializers.CharField(source="nationality.code", read_only=True)
    country_of_residence = serializers.CharField(source="country_of_residence.code", read_only=True)
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    documents = DocumentOutput(many=True, read_only=True)

    class Meta:
        model = KycApplication
        fields = [
            "id",
            "risk_group",
            "kind",
            "institution",
            "status",
            "legal_name",
            "date_of_birth",
            "nationality",
            "country_of_residence",
            "address",
            "registration_number",
            "jurisdiction",
            "registered_address",
            "beneficial_owners",
            "rejection_reason",
            "info_request",
            "submitted_at",
            "decided_at",
            "approved_until",
            "documents",
            "created_at",
            "updated_at",
        ]


class OwnerInput(serializers.Serializer[Any]):
    name = serializers.CharField()
    country = serializers.CharField(max_length=2)
    share_percent = serializers.DecimalField(max_digits=6, decimal_places=3)


class ProfileInput(serializers.Serializer[Any]):
    legal_name = serializers.CharField(required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    nationality = serializers.CharField(required=False, allow_blank=True, max_length=2)
    country_of_residence = serializers.CharField(required=False, allow_blank=True, max_length=2)
    address = serializers.CharField(required=False, allow_blank=True)
    registration_number = serializers.CharField(required=False, allow_blank=True)
    jurisdiction = serializers.CharField(required=False, allow_blank=True, max_length=2)
    registered_address = serializers.CharField(required=False, allow_blank=True)
    beneficial_owners = OwnerInput(many=True, required=False)


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    profile = {name: value for name, value in data.items() if name in ProfileInput().fields}
    if "beneficial_owners" in profile:
        profile["beneficial_owners"] = [
            {**owner, "share_percent": str(owner["share_percent"])}
            for owner in profile["beneficial_owners"]
        ]
    return profile


def _application(pk: int) -> KycApplication:
    return KycApplication.objects.select_related("risk_group", "institution").get(pk=pk)


class ApplicationListApi(APIView):
    class KycApplicationCreateInput(ProfileInput):
        risk_group = serializers.SlugRelatedField(
            slug_field="slug", queryset=RiskGroup.objects.all()
        )
        kind = serializers.ChoiceField(
            choices=KycApplication.Kind.choices, default=KycApplication.Kind.PERSON
        )
        institution = serializers.SlugRelatedField(
            slug_field="slug", queryset=Institution.objects.all(), required=False, allow_null=True
        )

    @extend_schema(responses=ApplicationOutput(many=True), summary="My KYC applications")
    def get(self, request: Request) -> Response:
        applications = kyc_applications_of(user=acting_user(request)).prefetch_related("documents")
        return Response(ApplicationOutput(applications, many=True).data)

    @extend_schema(
        request=KycApplicationCreateInput,
        responses={201: ApplicationOutput},
        summary="Start a KYC (person) or KYB (institution) application to a regulated group",
    )
    def post(self, request: Request) -> Response:
        data = input_validated(request, self.KycApplicationCreateInput)
        application = kyc_application_create(
            actor=acting_user(request),
            risk_group=data["risk_group"],
            kind=data["kind"],
            institution=data.get("institution"),
            profile=_profile(data),
        )
        return Response(ApplicationOutput(_application(application.pk)).data, status=201)


class ApplicationDetailApi(APIView):
    @extend_schema(responses=ApplicationOutput, summary="One of my applications")
    def get(self, request: Request, pk: int) -> Response:
        application = kyc_application_own(user=acting_user(request), pk=pk)
        return Response(ApplicationOutput(application).data)

    @extend_schema(
        request=ProfileInput,
        responses=ApplicationOutput,
        summary="Change the profile of my draft or needs-info application",
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        application = kyc_application_own(user=user, pk=pk)
        fields = input_validated(request, ProfileInput, partial=True)
        kyc_application_update(actor=user, application=application, profile=_profile(fields))
        return Response(ApplicationOutput(_application(pk)).data)


class DocumentUploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class KycDocumentUploadInput(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=KycDocument.Kind.choices)
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(
        request={"multipart/form-data": KycDocumentUploadInput},
        responses={201: DocumentOutput},
        summary="Upload a document (PDF, JPEG or PNG, at most 10 MB) to my application",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        application = kyc_application_own(user=user, pk=pk)
        payload = self.KycDocumentUploadInput(data=request.data)
        payload.is_valid(raise_exception=True)
        document = kyc_document_add(
            actor=user,
            application=application,
            kind=payload.validated_data["kind"],
            upload=payload.validated_data["file"],
        )
        return Response(DocumentOutput(document).data, status=201)


class DocumentDeleteApi(APIView):
    @extend_schema(responses={204: None}, summary="Remove a document from my application")
    def delete(self, request: Request, pk: int, document_pk: int) -> Response:
        user = acting_user(request)
        application = kyc_application_own(user=user, pk=pk)
        document = application.documents.filter(pk=document_pk).first()
        if document is None:
            raise NotFound("There is no such document.")
        kyc_document_remove(actor=user, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubmitApi(APIView):
    @extend_schema(
        request=None,
        responses=ApplicationOutput,
        summary="Submit my application for review (rejected at once from a blocked jurisdiction)",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        application = kyc_application_own(user=user, pk=pk)
        kyc_application_submit(actor=user, application=application)
        return Response(ApplicationOutput(_application(pk)).data)


FILE_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The document's content.")


class DocumentDownloadApi(APIView):
    @extend_schema(responses={200: FILE_RESPONSE}, summary="Download a document of mine")
    def get(self, request: Request, pk: int) -> FileResponse:
        document, handle = kyc_document_open(actor=acting_user(request), pk=pk, as_reviewer=False)
        return kyc_document_response(document, handle)


# Staff: the groups' KYC admins, with two-factor.


class IsKycAdmin(BasePermission):
    """A KYC admin (of some group) or a site admin; which cases they see is the service's."""

    message = "This endpoint is for KYC admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(staff_roles(request.user) & {StaffRole.KYC_ADMIN, StaffRole.SITE_ADMIN})


KYC_ADMIN_PERMISSIONS = [IsAuthenticated, HasStaffRoleWithTwoFactor, IsKycAdmin]


class StaffApplicationOutput(ApplicationOutput):
    applicant = serializers.EmailField(source="applicant.email", read_only=True)
    first_approved_by = serializers.EmailField(
        source="first_approved_by.email", read_only=True, allow_null=True
    )
    document_count = serializers.IntegerField(read_only=True)

    class Meta(ApplicationOutput.Meta):
        fields = [
            *[name for name in ApplicationOutput.Meta.fields if name != "documents"],
            "applicant",
            "first_approved_by",
            "document_count",
        ]


class HistoryOutput(serializers.ModelSerializer[AuditEntry]):
    actor = serializers.EmailField(source="actor.email", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = ["created_at", "actor", "action", "old_values", "new_values", "reason"]


class CaseOutput(StaffApplicationOutput):
    documents = DocumentOutput(many=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta(StaffApplicationOutput.Meta):
        fields = [
            *[n for n in StaffApplicationOutput.Meta.fields if n != "document_count"],
            "documents",
            "history",
        ]

    @extend_schema_field(HistoryOutput(many=True))
    def get_history(self, application: KycApplication) -> list[dict[str, Any]]:
        return list(HistoryOutput(kyc_application_history(application), many=True).data)


class QueueApi(APIView):
    permission_classes = KYC_ADMIN_PERMISSIONS

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=KycStatus.values),
            OpenApiParameter("kind", str, enum=KycApplication.Kind.values),
            OpenApiParameter("min_age_days", int, description="Submitted at least this long ago"),
            OpenApiParameter("risk_group", str, description="A group's slug"),
        ],
        responses=StaffApplicationOutput(many=True),
        summary="The review queue of my groups, oldest first",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        filters = QueueFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queue = kyc_review_queue(
            user=user,
            status=data.get("status", ""),
            kind=data.get("kind", ""),
            min_age_days=data.get("min_age_days"),
            risk_group=data.get("risk_group", ""),
        )
        return api_page(request, self, queue, StaffApplicationOutput)


class QueueFilterInput(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=KycStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=KycApplication.Kind.values, required=False)
    min_age_days = serializers.IntegerField(
        min_value=0, max_value=QUEUE_MAX_AGE_DAYS, required=False
    )
    risk_group = serializers.SlugField(required=False)
    limit = serializers.IntegerField(min_value=1, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


class CaseApi(APIView):
    permission_classes = KYC_ADMIN_PERMISSIONS

    @extend_schema(responses=CaseOutput, summary="A case: profile, documents and full history")
    def get(self, request: Request, pk: int) -> Response:
        application = kyc_application_for_review(user=acting_user(request), pk=pk)
        return Response(CaseOutput(application).data)


class DecisionApi(APIView):
    permission_classes = KYC_ADMIN_PERMISSIONS

    class KycDecisionInput(serializers.Serializer[Any]):
        decision = serializers.ChoiceField(choices=["approve", "reject", "needs_info"])
        note = serializers.CharField(required=False, allow_blank=True, default="")
        tier = serializers.ChoiceField(
            choices=Membership.Tier.values, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        request=KycDecisionInput,
        responses=CaseOutput,
        summary="Approve, reject (with a reason) or ask for more information",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        application = kyc_application_for_review(user=user, pk=pk)
        fields = input_validated(request, self.KycDecisionInput)
        kyc_application_decide(actor=user, application=application, **fields)
        return Response(CaseOutput(kyc_application_for_review(user=user, pk=pk)).data)


class ReviewDocumentApi(APIView):
    permission_classes = KYC_ADMIN_PERMISSIONS

    @extend_schema(responses={200: FILE_RESPONSE}, summary="Download a document of a case")
    def get(self, request: Request, pk: int) -> FileResponse:
        document, handle = kyc_document_open(actor=acting_user(request), pk=pk, as_reviewer=True)
        return kyc_document_response(document, handle)
