"""Risk groups: creation by site admins, policy edits by the group's operators, collateral
assets and market bounds. Every change is audited; a change that changes nothing writes
nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from engine.core.markets import BPS
from governance.risk_groups.errors import RiskGroupError
from xip_portal.audit import audit_record
from xip_portal.bounded_values import (
    DAYS_MAX,
    INTEGER_MAX,
    MINUTES_MAX,
    bounded_decimal,
    bounded_integer,
)
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, NotFound, PermissionDenied
from xip_portal.models import Institution, StaffRole, User
from xip_portal.roles import has_role, staff_roles

from .models import (
    ORACLE_KINDS,
    CollateralAsset,
    MarketBounds,
    MarketType,
    RiskGroup,
    country_codes_invalid,
)

# The policy an operator may edit (name, slug, kind and operator are the site admin's): how
# XIPs are governed, and who may become a member.
GOVERNANCE_POLICY_FIELDS: tuple[str, ...] = (
    "description",
    "last_call_minutes",
    "vote_quorum",
    "vote_threshold_bps",
    "operator_approval_required",
    "stagnant_after_days",
    "proposal_bond_amount",
    "proposal_bond_asset",
    "simulated_collateral",
    "faucet_daily_amount",
)
MEMBERSHIP_POLICY_FIELDS: tuple[str, ...] = (
    "reverification_days",
    "four_eyes_for_institutions",
    "high_risk_countries",
    "blocked_jurisdictions",
    "allowed_jurisdictions",
    "terms",
)
POLICY_FIELDS = GOVERNANCE_POLICY_FIELDS + MEMBERSHIP_POLICY_FIELDS

COUNTRY_LIST_FIELDS = ("high_risk_countries", "blocked_jurisdictions", "allowed_jurisdictions")
BOUNDS_FIELDS: tuple[str, ...] = (
    "min_tick",
    "max_tick",
    "min_lot",
    "max_lot",
    "min_maker_fee_bps",
    "max_maker_fee_bps",
    "min_taker_fee_bps",
    "max_taker_fee_bps",
    "max_leverage",
    "allowed_market_types",
    "allowed_oracle_kinds",
)
DECIMAL_BOUNDS = ("min_tick", "max_tick", "min_lot", "max_lot")
# What each whole-number field may hold: durations stay addable to any time, the rest
# within their columns (forms, the API and the service all read these).
POLICY_INTEGER_LIMITS: dict[str, tuple[int, int]] = {
    "last_call_minutes": (1, MINUTES_MAX),
    "vote_quorum": (1, INTEGER_MAX),
    "vote_threshold_bps": (0, BPS),
    "stagnant_after_days": (1, DAYS_MAX),
    "reverification_days": (1, DAYS_MAX),
}
BOUNDS_INTEGER_LIMITS: dict[str, tuple[int, int]] = {
    "min_maker_fee_bps": (-BPS, BPS),
    "max_maker_fee_bps": (-BPS, BPS),
    "min_taker_fee_bps": (-BPS, BPS),
    "max_taker_fee_bps": (-BPS, BPS),
    "max_leverage": (1, INTEGER_MAX),
}


def _plain(value: Any) -> Any:
    """A value as the audit log keeps and compares it: decimals as plain strings (so 1.0 and
    1.000000 are the same), lists of codes or kinds in order (they are sets)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return sorted(value)
    return value


def risk_group_is_operator(user: Any, risk_group: RiskGroup) -> bool:
    """Whether the user may edit the group's policy: its operator, or a site admin."""
    if not staff_roles(user) & {StaffRole.RISK_GROUP_OPERATOR, StaffRole.SITE_ADMIN}:
        return False  # the common case, answered from the roles cached for the request
    return has_role(user, StaffRole.RISK_GROUP_OPERATOR, risk_group) or has_role(
        user, StaffRole.SITE_ADMIN
    )


def _clean_policy(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise ApplicationError(
            "These are not policy fields: " + ", ".join(unknown) + ".",
            fields={name: ["Not a policy field."] for name in unknown},
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name in COUNTRY_LIST_FIELDS:
            codes = (
                [str(code).strip().upper() for code in value] if isinstance(value, list) else value
            )
            bad = country_codes_invalid(codes)
            if bad:
                errors[name] = ["Not ISO 3166 alpha-2 codes: " + ", ".join(map(str, bad)) + "."]
            else:
                cleaned[name] = sorted(set(codes))
        elif name in ("proposal_bond_amount", "faucet_daily_amount"):
            try:
                cleaned[name] = bounded_decimal(
                    value, field=name, max_digits=20, decimal_places=6, minimum=0
                )
            except ApplicationError as exc:
                errors[name] = [exc.message]
        elif name in (
            "operator_approval_required",
            "four_eyes_for_institutions",
            "simulated_collateral",
        ):
            if not isinstance(value, bool):
                errors[name] = ["True or false."]
            else:
                cleaned[name] = value
        elif name in ("description", "terms", "proposal_bond_asset"):
            cleaned[name] = str(value).strip()
            if name == "proposal_bond_asset":
                cleaned[name] = cleaned[name].upper()
                if len(cleaned[name]) > 16:
                    errors[name] = ["At most 16 characters."]
        else:
            minimum, maximum = POLICY_INTEGER_LIMITS[name]
            try:
                cleaned[name] = bounded_integer(value, field=name, minimum=minimum, maximum=maximum)
            except ApplicationError as exc:
                errors[name] = [exc.message]
    if errors:
        raise ApplicationError(
            "The policy has invalid fields: " + ", ".join(sorted(errors)) + ".", fields=errors
        )
    return cleaned


def _clean_bounds(bounds: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(bounds) - set(BOUNDS_FIELDS))
    if unknown:
        raise ApplicationError(
            "These are not market bounds: " + ", ".join(unknown) + ".",
            fields={name: ["Not a bound."] for name in unknown},
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in bounds.items():
        if name in DECIMAL_BOUNDS:
            try:
                number = bounded_decimal(value, field=name, max_digits=30, decimal_places=18)
            except ApplicationError as exc:
                errors[name] = [exc.message]
                continue
            if number <= 0:
                errors[name] = ["Must be greater than zero."]
            else:
                cleaned[name] = number
        elif name in ("allowed_market_types", "allowed_oracle_kinds"):
            allowed = MarketType.values if name == "allowed_market_types" else ORACLE_KINDS
            if not isinstance(value, list) or any(item not in allowed for item in value):
                errors[name] = ["A list drawn from: " + ", ".join(allowed) + "."]
            else:
                cleaned[name] = sorted(set(value))
        else:
            minimum, maximum = BOUNDS_INTEGER_LIMITS[name]
            try:
                cleaned[name] = bounded_integer(value, field=name, minimum=minimum, maximum=maximum)
            except ApplicationError as exc:
                errors[name] = [exc.message]
    merged = {**current, **cleaned}
    for low, high in (
        ("min_tick", "max_tick"),
        ("min_lot", "max_lot"),
        ("min_maker_fee_bps", "max_maker_fee_bps"),
        ("min_taker_fee_bps", "max_taker_fee_bps"),
    ):
        if low not in errors and high not in errors and merged[low] > merged[high]:
            errors[high] = [f"Must be at least {low.replace('_', ' ')} ({merged[low]})."]
    if merged["min_taker_fee_bps"] < 0 and "min_taker_fee_bps" not in errors:
        errors["min_taker_fee_bps"] = ["Taker fees cannot be negative."]
    if errors:
        raise ApplicationError(
            "The market bounds have invalid fields: " + ", ".join(sorted(errors)) + ".",
            fields=errors,
        )
    return cleaned


def _clean_policy_and_bounds(
    policy: dict[str, Any], bounds: dict[str, Any], current_bounds: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both cleaned, or one error naming every invalid field of either."""
    fields: dict[str, list[str]] = {}
    cleaned_policy: dict[str, Any] = {}
    cleaned_bounds: dict[str, Any] = {}
    try:
        cleaned_policy = _clean_policy(policy)
    except ApplicationError as exc:
        fields.update(exc.fields)
    try:
        cleaned_bounds = _clean_bounds(bounds, current_bounds)
    except ApplicationError as exc:
        fields.update(exc.fields)
    if fields:
        raise ApplicationError(
            "The policy has invalid fields: " + ", ".join(sorted(fields)) + ".", fields=fields
        )
    return cleaned_policy, cleaned_bounds


def _bounds_values(bounds: MarketBounds) -> dict[str, Any]:
    return {name: getattr(bounds, name) for name in BOUNDS_FIELDS}


def risk_group_create(
    *,
    actor: User,
    name: str,
    kind: str,
    slug: str = "",
    operator: Institution | None = None,
    policy: dict[str, Any] | None = None,
    bounds: dict[str, Any] | None = None,
) -> RiskGroup:
    """Creates a risk group with its market bounds (defaults where not given). Site admins only."""
    if not has_role(actor, StaffRole.SITE_ADMIN):
        raise PermissionDenied("Only site admins create risk groups.", code=ErrorCode.ROLE_REQUIRED)
    name = name.strip()
    slug = slugify(slug or name)[:60]
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Required."]
    if not slug:
        errors["slug"] = ["Needs at least one letter or digit."]
    if kind not in RiskGroup.Kind.values:
        errors["kind"] = ["Either kyc or permissionless."]
    if errors:
        raise ApplicationError(
            "The risk group has invalid fields: " + ", ".join(sorted(errors)) + ".", fields=errors
        )
    cleaned_policy, cleaned_bounds = _clean_policy_and_bounds(
        policy or {}, bounds or {}, _bounds_values(MarketBounds())
    )
    if (
        RiskGroup.objects.filter(slug=slug).exists()
        or RiskGroup.objects.filter(name__iexact=name).exists()
    ):
        taken = f"A risk group named {name!r} or with the slug {slug!r} already exists."
        raise Conflict(taken, code=RiskGroupError.RISK_GROUP_EXISTS, fields={"name": [taken]})
    try:
        with transaction.atomic():
            group = RiskGroup.objects.create(
                name=name, slug=slug, kind=kind, operator=operator, **cleaned_policy
            )
            MarketBounds.objects.create(risk_group=group, **cleaned_bounds)
            audit_record(
                actor=actor,
                action="risk_group.create",
                obj=group,
                new={
                    "name": name,
                    "slug": slug,
                    "kind": kind,
                    "operator": operator.name if operator else None,
                    **{key: _plain(value) for key, value in cleaned_policy.items()},
                    **{f"bounds.{k}": _plain(v) for k, v in cleaned_bounds.items()},
                },
            )
    except IntegrityError:
        taken = f"A risk group named {name!r} already exists."
        raise Conflict(
            taken, code=RiskGroupError.RISK_GROUP_EXISTS, fields={"name": [taken]}
        ) from None
    return group


def risk_group_create_from_xip(*, spec: dict[str, Any], xip_label: str) -> RiskGroup:
    """Creates the risk group a Final risk-group XIP describes (its validated `spec`;
    idempotent on its slug). Its operator, bounds and collateral are set by a site admin
    afterwards. Called by the XIP service when the XIP goes Final."""
    group, created = RiskGroup.objects.get_or_create(
        slug=spec["slug"],
        defaults={
            "name": spec["name"],
            "kind": spec["kind"],
            "description": spec.get("description", ""),
            "last_call_minutes": spec["last_call_minutes"],
            "vote_quorum": spec["vote_quorum"],
            "vote_threshold_bps": spec["vote_threshold_bps"],
            "stagnant_after_days": spec["stagnant_after_days"],
            "proposal_bond_amount": Decimal(spec.get("proposal_bond_amount") or "0"),
            "proposal_bond_asset": spec.get("proposal_bond_asset", ""),
        },
    )
    if created:
        audit_record(
            actor=None,
            action="risk_group.create",
            obj=group,
            new={"slug": group.slug, "kind": group.kind, "xip": xip_label},
            reason=f"{xip_label} is Final",
        )
    return group


def risk_group_policy_update(
    *,
    actor: User,
    risk_group: RiskGroup,
    policy: dict[str, Any] | None = None,
    bounds: dict[str, Any] | None = None,
    reason: str = "",
) -> RiskGroup:
    """Changes the group's policy and market bounds. The group's operators and site admins
    only. Audits the fields that changed, old and new; writes nothing when nothing changes."""
    if not risk_group_is_operator(actor, risk_group):
        raise PermissionDenied(
            f"Only the operators of {risk_group.name} edit its policy.",
            code=ErrorCode.ROLE_REQUIRED,
        )
    with transaction.atomic():
        group = RiskGroup.objects.select_for_update().get(pk=risk_group.pk)
        group_bounds, _ = MarketBounds.objects.select_for_update().get_or_create(risk_group=group)
        current_bounds = _bounds_values(group_bounds)
        cleaned_policy, cleaned_bounds = _clean_policy_and_bounds(
            policy or {}, bounds or {}, current_bounds
        )
        old = {name: _plain(getattr(group, name)) for name in cleaned_policy}
        old.update({f"bounds.{name}": _plain(current_bounds[name]) for name in cleaned_bounds})
        new = {name: _plain(value) for name, value in cleaned_policy.items()}
        new.update({f"bounds.{name}": _plain(value) for name, value in cleaned_bounds.items()})
        entry = audit_record(
            actor=actor,
            action="risk_group.policy_update",
            obj=group,
            old=old,
            new=new,
            reason=reason,
        )
        if entry is not None:
            for name, value in cleaned_policy.items():
                setattr(group, name, value)
            group.save()
            for name, value in cleaned_bounds.items():
                setattr(group_bounds, name, value)
            group_bounds.save()
    return group


def collateral_asset_set(
    *, actor: User, risk_group: RiskGroup, symbol: str, haircut_bps: int
) -> CollateralAsset:
    """Adds a collateral asset to the group or changes its haircut. Operators only."""
    if not risk_group_is_operator(actor, risk_group):
        raise PermissionDenied(
            f"Only the operators of {risk_group.name} edit its collateral.",
            code=ErrorCode.ROLE_REQUIRED,
        )
    symbol = symbol.strip().upper()
    errors: dict[str, list[str]] = {}
    if not symbol or len(symbol) > 16 or not symbol.replace(".", "").isalnum():
        errors["symbol"] = ["1 to 16 letters or digits, e.g. USDC."]
    if isinstance(haircut_bps, bool) or not isinstance(haircut_bps, int):
        errors["haircut_bps"] = ["A whole number of basis points."]
    elif not 0 <= haircut_bps < BPS:
        errors["haircut_bps"] = [f"From 0 to {BPS - 1} basis points."]
    if errors:
        raise ApplicationError(
            "The collateral asset has invalid fields: " + ", ".join(sorted(errors)) + ".",
            fields=errors,
        )
    with transaction.atomic():
        RiskGroup.objects.select_for_update().get(pk=risk_group.pk)
        asset = CollateralAsset.objects.filter(risk_group=risk_group, symbol=symbol).first()
        if asset is None:
            asset = CollateralAsset.objects.create(
                risk_group=risk_group, symbol=symbol, haircut_bps=haircut_bps
            )
            audit_record(
                actor=actor,
                action="risk_group.collateral_add",
                obj=risk_group,
                new={"symbol": symbol, "haircut_bps": haircut_bps},
            )
        elif audit_record(
            actor=actor,
            action="risk_group.collateral_update",
            obj=risk_group,
            old={"symbol": symbol, "haircut_bps": asset.haircut_bps},
            new={"symbol": symbol, "haircut_bps": haircut_bps},
        ):
            asset.haircut_bps = haircut_bps
            asset.save()
    return asset


def collateral_asset_remove(*, actor: User, risk_group: RiskGroup, symbol: str) -> None:
    """Removes a collateral asset from the group. Operators only."""
    if not risk_group_is_operator(actor, risk_group):
        raise PermissionDenied(
            f"Only the operators of {risk_group.name} edit its collateral.",
            code=ErrorCode.ROLE_REQUIRED,
        )
    with transaction.atomic():
        asset = (
            CollateralAsset.objects.select_for_update()
            .filter(risk_group=risk_group, symbol=symbol.strip().upper())
            .first()
        )
        if asset is None:
            raise NotFound(f"{risk_group.name} has no collateral asset {symbol!r}.")
        audit_record(
            actor=actor,
            action="risk_group.collateral_remove",
            obj=risk_group,
            old={"symbol": asset.symbol, "haircut_bps": asset.haircut_bps},
        )
        asset.delete()


# Reads.


def risk_group_list() -> QuerySet[RiskGroup]:
    return RiskGroup.objects.select_related("operator").order_by("name")


def risk_group_get(*, slug: str) -> RiskGroup:
    group = (
        RiskGroup.objects.select_related("operator", "bounds")
        .prefetch_related("collateral_assets")
        .filter(slug=slug)
        .first()
    )
    if group is None:
        raise NotFound(f"There is no risk group {slug!r}.")
    return group
