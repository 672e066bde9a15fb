"""REST API of risk groups, memberships and KYC (included by governance.api_urls)."""

from django.urls import URLPattern, URLResolver, path

from . import kyc_api, risk_group_api

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/", risk_group_api.RiskGroupListApi.as_view(), name="api_riskgroups"),
    path(
        "risk-groups/<slug:slug>/",
        risk_group_api.RiskGroupDetailApi.as_view(),
        name="api_riskgroup",
    ),
    path(
        "risk-groups/<slug:slug>/collateral/<str:symbol>/",
        risk_group_api.CollateralApi.as_view(),
        name="api_riskgroup_collateral",
    ),
    path(
        "risk-groups/<slug:slug>/join/",
        risk_group_api.JoinApi.as_view(),
        name="api_riskgroup_join",
    ),
    path("memberships/", risk_group_api.MembershipListApi.as_view(), name="api_memberships"),
    path(
        "kyc/applications/",
        kyc_api.ApplicationListApi.as_view(),
        name="api_kyc_applications",
    ),
    path(
        "kyc/applications/<int:pk>/",
        kyc_api.ApplicationDetailApi.as_view(),
        name="api_kyc_application",
    ),
    path(
        "kyc/applications/<int:pk>/documents/",
        kyc_api.DocumentUploadApi.as_view(),
        name="api_kyc_documents",
    ),
    path(
        "kyc/applications/<int:pk>/documents/<int:document_pk>/",
        kyc_api.DocumentDeleteApi.as_view(),
        name="api_kyc_document_delete",
    ),
    path(
        "kyc/applications/<int:pk>/submit/",
        kyc_api.SubmitApi.as_view(),
        name="api_kyc_submit",
    ),
    path(
        "kyc/documents/<int:pk>/",
        kyc_api.DocumentDownloadApi.as_view(),
        name="api_kyc_document",
    ),
    path("staff/kyc/applications/", kyc_api.QueueApi.as_view(), name="api_kyc_queue"),
    path("staff/kyc/applications/<int:pk>/", kyc_api.CaseApi.as_view(), name="api_kyc_case"),
    path(
        "staff/kyc/applications/<int:pk>/decision/",
        kyc_api.DecisionApi.as_view(),
        name="api_kyc_decision",
    ),
    path(
        "staff/kyc/documents/<int:pk>/",
        kyc_api.ReviewDocumentApi.as_view(),
        name="api_kyc_review_document",
    ),
]
