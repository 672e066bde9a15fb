"""Roles: every user is a trader; institution members act for their institution; staff
roles (XIP editor, KYC admin, risk-group operator, site admin) are assignments, optionally
scoped to one risk group, and are usable only once two-factor authentication is set up."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Model, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .compiled_queries import CompiledQuery
from .errors import ErrorCode, NotAuthenticated, PermissionDenied
from .models import InstitutionMembership, RoleAssignment, StaffRole, User

# Pages under these paths are staff pages: a staff user without two-factor is sent to set it up.
STAFF_PATH_PREFIXES = ("/admin/", "/staff/")
TWO_FACTOR_SETUP_URL = "mfa_activate_totp"
# The page a staff user asked for before being sent to set up two-factor; they land on it after.
TWO_FACTOR_NEXT_SESSION_KEY = "two_factor_next"


def acting_user(request: HttpRequest | Request) -> User:
    """The signed-in user behind a request that has passed authentication."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated("Log in first.")
    return user


# read on every page view of a signed-in user (xip_portal.compiled_queries)
_ROLES_HELD = CompiledQuery(
    lambda user: RoleAssignment.objects.filter(user=user).order_by().values_list("role"), user=int
)
_INSTITUTION_MEMBER = CompiledQuery(
    lambda user: InstitutionMembership.objects.filter(user=user).values_list("pk")[:1], user=int
)


def staff_roles(user: Any) -> set[StaffRole]:
    """The staff roles a user holds in any scope (cached on the user for the request)."""
    if not user.is_authenticated:
        return set()
    cached: set[StaffRole] | None = getattr(user, "_staff_roles", None)
    if cached is None:
        cached = {StaffRole(role) for (role,) in _ROLES_HELD.rows(user=user.pk)}
        if user.is_superuser:
            cached.add(StaffRole.SITE_ADMIN)
        user._staff_roles = cached
    return cached


def staff_roles_forget(user: User) -> None:
    """Drops the roles cached on `user` (after a grant or a revocation)."""
    user.__dict__.pop("_staff_roles", None)


def has_role(user: Any, role: StaffRole, risk_group: Model | None = None) -> bool:
    """Whether the user holds `role` in some scope or, given a risk group, in that group
    (an unscoped assignment counts in every group; site admins hold every role)."""
    if not user.is_authenticated:
        return False
    held = staff_roles(user)
    if StaffRole.SITE_ADMIN in held:
        return True
    if role not in held:  # held in no scope: no need to ask which scopes
        return False
    assignments = RoleAssignment.objects.filter(user=user, role=role)
    if risk_group is not None:
        assignments = assignments.filter(Q(risk_group__isnull=True) | Q(risk_group=risk_group))
    return assignments.exists()


def is_staff_user(user: Any) -> bool:
    return bool(staff_roles(user)) or bool(getattr(user, "is_staff", False))


def needs_two_factor(user: Any) -> bool:
    """A staff user who has not set up two-factor authentication yet."""
    return is_staff_user(user) and not is_mfa_enabled(user)


def two_factor_require(user: Any) -> None:
    """Staff actions through the API: refused until two-factor is set up."""
    if not is_mfa_enabled(user):
        raise PermissionDenied(
            "Set up two-factor authentication before using staff actions.",
            code=ErrorCode.TWO_FACTOR_REQUIRED,
        )


def two_factor_setup_redirect(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        request.session[TWO_FACTOR_NEXT_SESSION_KEY] = request.get_full_path()
    messages.warning(
        request,
        "Staff pages need two-factor authentication. Set up an authenticator app to continue.",
    )
    return redirect(TWO_FACTOR_SETUP_URL)


class StaffTwoFactorMiddleware:
    """Sends staff users without two-factor from any staff page to the set-up page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(STAFF_PATH_PREFIXES) and needs_two_factor(request.user):
            return two_factor_setup_redirect(request)
        return self.get_response(request)


def staff_role_required(
    *roles: StaffRole,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorates a staff page: anonymous users log in, users without one of `roles` are
    refused, staff without two-factor are sent to set it up."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            held = staff_roles(request.user)
            allowed = held if not roles else held & {*roles, StaffRole.SITE_ADMIN}
            if not allowed:
                who = " or ".join(role.label for role in roles) if roles else "staff"
                raise PermissionDenied(f"This page is for {who}.", code=ErrorCode.ROLE_REQUIRED)
            if needs_two_factor(request.user):
                return two_factor_setup_redirect(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasStaffRoleWithTwoFactor(BasePermission):
    """API permission for staff endpoints: a staff role and two-factor set up."""

    message = "This endpoint is for staff with two-factor authentication set up."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_staff_user(request.user):
            return False
        two_factor_require(request.user)
        return True


def role_labels(user: User) -> list[str]:
    """The roles a signed-in user holds, as people read them (navigation, /api/v1/me)."""
    labels = ["Trader"]
    # cached on the user for the request: a page renders its parts with the request's
    # context processors more than once
    member: bool | None = getattr(user, "_institution_member", None)
    if member is None:
        member = user._institution_member = bool(_INSTITUTION_MEMBER.rows(user=user.pk))  # type: ignore[attr-defined]
    if member:
        labels.append("Institution member")
    return labels + [role.label for role in StaffRole if role in staff_roles(user)]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the roles to show in the navigation."""
    # Errors raised before the authentication middleware leave the request without a user.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": [], "nav_is_staff": False}
    return {"nav_roles": role_labels(user), "nav_is_staff": is_staff_user(user)}
