"""Who is who: users (email login), institutions and their members, staff role assignments,
and the append-only audit log."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class StatusChange(models.Model):
    """One step of an object's status history: from, to, who and why. The audit log holds
    the same with request ids; this is the timeline shown on the object's page. Subclasses
    add the foreign key to their object and the choices of their statuses."""

    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with a confirmed email address; every user may trade (the trader
    role); staff roles come from RoleAssignment and need two-factor authentication."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May log in to the Django admin (site admins only)."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        # What other people see: never the e-mail address (sign-up asks for a display name;
        # accounts made before that get a neutral name).
        return self.display_name or f"Member {self.pk}"


class Institution(TimeStampedModel):
    """An organisation (exchange, market maker, builder team) whose members propose markets
    and apply for KYB on its behalf."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    website = models.URLField(blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="InstitutionMembership", related_name="institutions"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InstitutionMembership(TimeStampedModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Administrator"
        MEMBER = "member", "Member"

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="institution_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["institution__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.institution} ({self.role})"


class StaffRole(models.TextChoices):
    """Roles that act on other people's work. Each needs two-factor authentication. A
    role may be scoped to one risk group (KYC admins and operators are, per group); an
    unscoped assignment applies everywhere."""

    XIP_EDITOR = "xip_editor", "XIP editor"
    KYC_ADMIN = "kyc_admin", "KYC admin"
    RISK_GROUP_OPERATOR = "operator", "Risk-group operator"
    SITE_ADMIN = "site_admin", "Site admin"


class RoleAssignment(TimeStampedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=32, choices=StaffRole.choices)
    risk_group = models.ForeignKey(
        "governance.RiskGroup",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        help_text="Empty: the role applies in every risk group.",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["user__email", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "risk_group"],
                condition=models.Q(risk_group__isnull=False),
                name="one_assignment_per_group",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(risk_group__isnull=True),
                name="one_unscoped_assignment",
            ),
        ]

    def __str__(self) -> str:
        scope = self.risk_group.slug if self.risk_group is not None else "all groups"
        return f"{self.user}: {self.get_role_display()} ({scope})"


class AuditEntry(models.Model):
    """One state change that matters: who did what to which object, old and new values,
    why, and under which request. Rows are never updated or deleted (the database refuses
    it on PostgreSQL; the model refuses it everywhere)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200)
    risk_group = models.ForeignKey(
        "governance.RiskGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The risk group the object belongs to: whose staff may see the entry.",
    )
    old_values = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    new_values = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")
