"""REST API of KYC (included by governance.api_urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "kyc/applications/",
        api.ApplicationListApi.as_view(),
        name="api_kyc_applications",
    ),
    path(
        "kyc/applications/<int:pk>/",
        api.ApplicationDetailApi.as_view(),
        name="api_kyc_application",
    ),
    path(
        "kyc/applications/<int:pk>/documents/",
        api.DocumentUploadApi.as_view(),
        name="api_kyc_documents",
    ),
    path(
        "kyc/applications/<int:pk>/documents/<int:document_pk>/",
        api.DocumentDeleteApi.as_view(),
        name="api_kyc_document_delete",
    ),
    path(
        "kyc/applications/<int:pk>/submit/",
        api.SubmitApi.as_view(),
        name="api_kyc_submit",
    ),
    path(
        "kyc/documents/<int:pk>/",
        api.DocumentDownloadApi.as_view(),
        name="api_kyc_document",
    ),
    path("staff/kyc/applications/", api.QueueApi.as_view(), name="api_kyc_queue"),
    path("staff/kyc/applications/<int:pk>/", api.CaseApi.as_view(), name="api_kyc_case"),
    path(
        "staff/kyc/applications/<int:pk>/decision/",
        api.DecisionApi.as_view(),
        name="api_kyc_decision",
    ),
    path(
        "staff/kyc/documents/<int:pk>/",
        api.ReviewDocumentApi.as_view(),
        name="api_kyc_review_document",
    ),
]
