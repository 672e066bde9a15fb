"""Trading pages: the user's API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from xip_portal.errors import ApplicationError, errors_as_messages, form_add_application_error
from xip_portal.roles import acting_user

from .forms import ApiKeyForm
from .selectors import api_keys_of
from .services import api_key_create, api_key_revoke


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list and the form; a created key's secret is shown in this answer only."""
    user = acting_user(request)
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = api_key_create(
                user=user,
                name=form.cleaned_data["name"],
                passphrase=form.cleaned_data["passphrase"],
                scopes=form.cleaned_data["scopes"],
                ip_allowlist=form.cleaned_data["ip_allowlist"].split(),
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            created = {"key": api_key.key, "secret": secret}
            form = ApiKeyForm()
    return render(
        request,
        "trading/api_keys.html",
        {"form": form, "created": created, "keys": api_keys_of(user=user)},
    )


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key: str) -> HttpResponse:
    with errors_as_messages(request):
        api_key = api_key_revoke(user=acting_user(request), key=key)
        messages.success(request, f"The key “{api_key.name}” is revoked.")
    return redirect("api_keys")
