"""KYC pages: the applicant's own applications (apply, edit, upload, submit) and the
review queue of the groups' KYC admins under /staff/kyc/."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from governance.memberships.services import memberships_of
from governance.risk_groups.services import risk_group_get
from xip_portal.errors import (
    ApplicationError,
    ErrorCode,
    errors_as_messages,
    form_add_application_error,
)
from xip_portal.models import Institution, InstitutionMembership, StaffRole
from xip_portal.roles import acting_user, staff_role_required

from .documents import (
    kyc_document_add,
    kyc_document_open,
    kyc_document_remove,
    kyc_document_response,
)
from .forms import (
    DocumentUploadForm,
    KycApplyForm,
    ReviewDecisionForm,
    ReviewQueueFilterForm,
    profile_form,
)
from .models import INSTITUTION_DOCUMENT_KINDS, PERSON_DOCUMENT_KINDS
from .services import (
    kyc_application_create,
    kyc_application_decide,
    kyc_application_for_review,
    kyc_application_history,
    kyc_application_missing,
    kyc_application_own,
    kyc_application_submit,
    kyc_application_update,
    kyc_applications_of,
    kyc_needs_four_eyes,
    kyc_review_queue,
    kyc_reviewer_groups,
)


@login_required
@require_http_methods(["GET", "POST"])
def kyc_apply(request: HttpRequest, slug: str) -> HttpResponse:
    user = acting_user(request)
    group = risk_group_get(slug=slug)
    institutions = Institution.objects.filter(
        institutionmembership__user=user,
        institutionmembership__role=InstitutionMembership.Role.ADMIN,
    )
    form = KycApplyForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            application = kyc_application_create(
                actor=user,
                risk_group=group,
                kind=form.cleaned_data["kind"],
                institution=form.cleaned_data["institution"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Your application is started: fill in the profile.")
            return redirect("kyc_application", pk=application.pk)
    return render(
        request,
        "governance/kyc_apply.html",
        {"group": group, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def kyc_my_applications(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    context = {
        "applications": kyc_applications_of(user=user),
        "memberships": memberships_of(user=user).select_related("risk_group", "institution"),
    }
    return render(request, "governance/kyc_my_applications.html", context)


def _application_page(
    request: HttpRequest,
    application: Any,
    *,
    form: Any = None,
    upload: Any = None,
    status: int = 200,
) -> HttpResponse:
    kinds = INSTITUTION_DOCUMENT_KINDS if application.is_institution else PERSON_DOCUMENT_KINDS
    context = {
        "application": application,
        "form": form or profile_form(application),
        "upload_form": upload or DocumentUploadForm(kinds=kinds),
        "documents": application.documents.all(),
        "missing": kyc_application_missing(application) if application.can_submit() else {},
    }
    return render(request, "governance/kyc_application.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def kyc_application(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = kyc_application_own(user=user, pk=pk)
    if request.method != "POST":
        return _application_page(request, application)
    form = profile_form(application, request.POST)
    if form.is_valid():
        try:
            kyc_application_update(actor=user, application=application, profile=form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("kyc_application", pk=application.pk)
    return _application_page(request, application, form=form, status=400)


@login_required
@require_POST
def kyc_document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = kyc_application_own(user=user, pk=pk)
    kinds = INSTITUTION_DOCUMENT_KINDS if application.is_institution else PERSON_DOCUMENT_KINDS
    upload = DocumentUploadForm(request.POST, request.FILES, kinds=kinds)
    if upload.is_valid():
        try:
            kyc_document_add(
                actor=user,
                application=application,
                kind=upload.cleaned_data["kind"],
                upload=upload.cleaned_data["file"],
            )
        except ApplicationError as exc:
            form_add_application_error(upload, exc)
        else:
            messages.success(request, "The document is uploaded.")
            return redirect("kyc_application", pk=application.pk)
    return _application_page(request, application, upload=upload, status=400)


@login_required
@require_POST
def kyc_document_delete(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    user = acting_user(request)
    application = kyc_application_own(user=user, pk=pk)
    document = application.documents.filter(pk=document_pk).first()
    with errors_as_messages(request):
        if document is None:
            raise ApplicationError("There is no such document.", code=ErrorCode.NOT_FOUND)
        kyc_document_remove(actor=user, document=document)
        messages.success(request, "The document is removed.")
    return redirect("kyc_application", pk=application.pk)


@login_required
@require_POST
def kyc_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = kyc_application_own(user=user, pk=pk)
    with errors_as_messages(request):
        application = kyc_application_submit(actor=user, application=application)
        if application.status == "rejected":
            messages.error(request, f"Your application is rejected: {application.rejection_reason}")
        else:
            messages.success(request, "Your application is submitted for review.")
    return redirect("kyc_application", pk=application.pk)


@login_required
@never_cache
def kyc_document_download(request: HttpRequest, pk: int) -> FileResponse:
    document, handle = kyc_document_open(actor=acting_user(request), pk=pk, as_reviewer=False)
    return kyc_document_response(document, handle)


# Staff: the review queue of the groups' KYC admins.


@staff_role_required(StaffRole.KYC_ADMIN)
def kyc_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    groups = list(kyc_reviewer_groups(user))
    filters = ReviewQueueFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    group = data.get("group", "")
    queue = kyc_review_queue(
        user=user,
        status=data.get("status", ""),
        kind=data.get("kind", ""),
        min_age_days=data.get("min_age_days"),
        risk_group=group,
    )
    context = {"queue": queue, "filters": filters, "groups": groups, "group": group}
    return render(
        request, "governance/kyc_queue.html", context, status=400 if filters.errors else 200
    )


@staff_role_required(StaffRole.KYC_ADMIN)
@require_http_methods(["GET", "POST"])
def kyc_review(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = kyc_application_for_review(user=user, pk=pk)
    form = ReviewDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            decided = kyc_application_decide(
                actor=user, application=application, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            if decided.status == "in_review" and decided.first_approved_by_id == user.pk:
                messages.success(
                    request,
                    "Your approval is recorded; a second KYC admin must approve too (four eyes).",
                )
            else:
                messages.success(
                    request, f"Application #{decided.pk} is {decided.get_status_display().lower()}."
                )
            return redirect("kyc_review", pk=decided.pk)
    context = {
        "application": application,
        "documents": application.documents.all(),
        "history": kyc_application_history(application),
        "form": form,
        "four_eyes": kyc_needs_four_eyes(application),
    }
    return render(
        request, "governance/kyc_review.html", context, status=400 if form.errors else 200
    )


@staff_role_required(StaffRole.KYC_ADMIN)
@never_cache
def kyc_review_document(request: HttpRequest, pk: int) -> FileResponse:
    document, handle = kyc_document_open(actor=acting_user(request), pk=pk, as_reviewer=True)
    return kyc_document_response(document, handle)
