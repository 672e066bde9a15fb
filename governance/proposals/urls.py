"""XIP pages (included by governance.urls)."""

from django.urls import path

from . import views as views

urlpatterns = [
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("proposals/new/", views.proposal_new, name="proposal_new"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<int:pk>/<slug:action>/", views.proposal_action, name="proposal_action"),
    path(
        "staff/proposals/<int:pk>/<slug:action>/",
        views.proposal_staff_action,
        name="proposal_staff_action",
    ),
]
