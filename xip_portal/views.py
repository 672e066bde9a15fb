"""Portal pages: home, health, the staff dashboard, institutions and API tokens."""

from __future__ import annotations

import sys

from allauth.mfa.totp.views import ActivateTOTPView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from .audit import audit_entries_for_staff
from .errors import (
    ApplicationError,
    ErrorCode,
    RequestTooLarge,
    api_error_response,
    error_response,
    form_add_application_error,
    is_api_request,
)
from .forms import InstitutionForm, InstitutionMemberForm
from .health import PROBES
from .models import Institution, InstitutionMembership, StaffRole
from .roles import TWO_FACTOR_NEXT_SESSION_KEY, acting_user, staff_role_required, staff_roles
from .services import api_token_revoke, api_token_rotate, institution_create, institution_member_add


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    results = [probe() for probe in PROBES]
    failing = [result.name for result in results if not result.ok]
    body = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "checks": {result.name: {"ok": result.ok, "detail": result.detail} for result in results},
    }
    return JsonResponse(body, status=200 if not failing else 503)


@staff_role_required()
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    roles = staff_roles(user)
    assignments = user.role_assignments.select_related("risk_group")
    recent = audit_entries_for_staff(user=user, roles=roles)[:20]
    return render(
        request,
        "staff/dashboard.html",
        {
            "assignments": assignments,
            "roles": roles,
            "recent": recent,
            # the roles that see their group's members (and may revoke them)
            "member_roles": (StaffRole.KYC_ADMIN, StaffRole.RISK_GROUP_OPERATOR),
        },
    )


@login_required
def institution_list(request: HttpRequest) -> HttpResponse:
    memberships = InstitutionMembership.objects.filter(user=acting_user(request)).select_related(
        "institution"
    )
    return render(request, "institutions/list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def institution_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = InstitutionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            institution = institution_create(actor=user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, f"{institution.name} is created; you are its administrator.")
            return redirect("institution_detail", slug=institution.slug)
    status = 400 if form.errors else 200
    return render(request, "institutions/new.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def institution_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = acting_user(request)
    institution = get_object_or_404(Institution, slug=slug, members=user)
    form = InstitutionMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = institution_member_add(
                actor=user, institution=institution, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, f"{membership.user} is now a member.")
            return redirect("institution_detail", slug=institution.slug)
    members = institution.institutionmembership_set.select_related("user")
    is_admin = members.filter(user=user, role=InstitutionMembership.Role.ADMIN).exists()
    return render(
        request,
        "institutions/detail.html",
        {"institution": institution, "members": members, "form": form, "is_admin": is_admin},
        status=400 if form.errors else 200,
    )


@login_required
@never_cache
def api_token(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=acting_user(request)).first()
    return render(request, "account/api_token.html", {"token": token})


@login_required
@require_POST
def api_token_action(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if request.POST.get("action") == "revoke":
        api_token_revoke(user=user)
        messages.success(request, "Your API token is revoked.")
    else:
        api_token_rotate(user=user)
        messages.success(request, "A new API token is ready; the old one no longer works.")
    return redirect("api_token")


class TwoFactorActivateView(ActivateTOTPView):  # type: ignore[misc]  # allauth is untyped
    """allauth's TOTP set-up, ending on the staff page that sent the user here (if any)."""

    def get_success_url(self) -> str:
        wanted = self.request.session.pop(TWO_FACTOR_NEXT_SESSION_KEY, None)
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            codes = reverse("mfa_view_recovery_codes")
            messages.success(
                self.request,
                f"Two-factor authentication is on. Keep your recovery codes safe: {codes}",
            )
            return str(wanted)
        return str(super().get_success_url())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is larger than {limit} bytes."
        return error_response(request, RequestTooLarge.http_status, RequestTooLarge.code, message)
    return error_response(
        request, 400, ErrorCode.BAD_REQUEST, "The request could not be understood."
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, ErrorCode.PERMISSION_DENIED, "You may not see this page.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, ErrorCode.NOT_FOUND, "There is nothing here.")


# An error that means the database did not answer (refused, shut down, connection lost):
# the request may succeed when retried, so 503, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_MESSAGE = (
    "The service is temporarily unavailable: its database did not answer."
)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request context: the failure may be the database itself.
    Django calls this while handling the uncaught exception, which sys.exc_info() names."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        status, code = 503, ErrorCode.SERVICE_UNAVAILABLE
        message = DATABASE_UNAVAILABLE_MESSAGE
        template = "503.html"
    else:
        status, code = 500, ErrorCode.SERVER_ERROR
        message = "Something went wrong on our side; it has been logged."
        template = "500.html"
    if is_api_request(request):
        response: HttpResponse = api_error_response(request, status, code, message)
    else:
        response = HttpResponse(render_to_string(template), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
