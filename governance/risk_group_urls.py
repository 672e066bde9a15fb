"""Pages of risk groups, KYC applications and the KYC review (included by governance.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import kyc_views, risk_group_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/", risk_group_views.riskgroup_list, name="riskgroup_list"),
    path("risk-groups/<slug:slug>/", risk_group_views.riskgroup_detail, name="riskgroup_detail"),
    path("risk-groups/<slug:slug>/join/", risk_group_views.riskgroup_join, name="riskgroup_join"),
    path("risk-groups/<slug:slug>/apply/", kyc_views.kyc_apply, name="kyc_apply"),
    path("kyc/", kyc_views.kyc_my_applications, name="kyc_my_applications"),
    path("kyc/<int:pk>/", kyc_views.kyc_application, name="kyc_application"),
    path("kyc/<int:pk>/documents/", kyc_views.kyc_document_upload, name="kyc_document_upload"),
    path(
        "kyc/<int:pk>/documents/<int:document_pk>/delete/",
        kyc_views.kyc_document_delete,
        name="kyc_document_delete",
    ),
    path("kyc/<int:pk>/submit/", kyc_views.kyc_submit, name="kyc_submit"),
    path("kyc/documents/<int:pk>/", kyc_views.kyc_document_download, name="kyc_document_download"),
    path("staff/kyc/", kyc_views.kyc_queue, name="kyc_queue"),
    path("staff/kyc/<int:pk>/", kyc_views.kyc_review, name="kyc_review"),
    path(
        "staff/kyc/documents/<int:pk>/",
        kyc_views.kyc_review_document,
        name="kyc_review_document",
    ),
    path("staff/risk-groups/new/", risk_group_views.riskgroup_new, name="riskgroup_new"),
    path("staff/risk-groups/<slug:slug>/", risk_group_views.riskgroup_edit, name="riskgroup_edit"),
    path(
        "staff/risk-groups/<slug:slug>/collateral/",
        risk_group_views.riskgroup_collateral,
        name="riskgroup_collateral",
    ),
]
