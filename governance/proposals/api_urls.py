"""XIP API (included by governance.api_urls under /api/v1/)."""

from django.urls import path

from . import api as api

urlpatterns = [
    path("proposals/", api.ProposalListApi.as_view(), name="api_proposals"),
    path("proposals/<int:pk>/", api.ProposalDetailApi.as_view(), name="api_proposal"),
    path(
        "proposals/<int:pk>/actions/<slug:action>/",
        api.ProposalActionApi.as_view(),
        name="api_proposal_action",
    ),
    path(
        "proposals/<int:pk>/comments/",
        api.ProposalCommentApi.as_view(),
        name="api_proposal_comments",
    ),
    path(
        "proposals/<int:pk>/comments/<int:comment_id>/uphold/",
        api.ObjectionUpholdApi.as_view(),
        name="api_proposal_objection_uphold",
    ),
]
