"""XIP pages (included by governance.urls). A proposal's pages are keyed by its XIP number
(`/proposals/XIP-11/`), a Draft's by `draft-<id>`; the id URLs of before lead there."""

from django.urls import path, register_converter

from . import views as views


class ProposalKeyConverter:
    regex = r"XIP-[0-9]{1,9}|draft-[0-9]{1,18}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProposalKeyConverter, "xip")

urlpatterns = [
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("proposals/new/", views.proposal_new, name="proposal_new"),
    path("proposals/<xip:key>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<xip:key>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<xip:key>/<slug:action>/", views.proposal_action, name="proposal_action"),
    path(
        "staff/proposals/<xip:key>/<slug:action>/",
        views.proposal_staff_action,
        name="proposal_staff_action",
    ),
    path("proposals/<int:pk>/", views.proposal_by_id_redirect),
    path("proposals/<int:pk>/<path:rest>", views.proposal_by_id_redirect),
]
