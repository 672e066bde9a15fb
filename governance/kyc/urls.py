"""Pages of KYC applications and the KYC review (included by governance.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/<slug:slug>/apply/", views.kyc_apply, name="kyc_apply"),
    path("kyc/", views.kyc_my_applications, name="kyc_my_applications"),
    path("kyc/<int:pk>/", views.kyc_application, name="kyc_application"),
    path("kyc/<int:pk>/documents/", views.kyc_document_upload, name="kyc_document_upload"),
    path(
        "kyc/<int:pk>/documents/<int:document_pk>/delete/",
        views.kyc_document_delete,
        name="kyc_document_delete",
    ),
    path("kyc/<int:pk>/submit/", views.kyc_submit, name="kyc_submit"),
    path("kyc/documents/<int:pk>/", views.kyc_document_download, name="kyc_document_download"),
    path("staff/kyc/", views.kyc_queue, name="kyc_queue"),
    path("staff/kyc/<int:pk>/", views.kyc_review, name="kyc_review"),
    path("staff/kyc/documents/<int:pk>/", views.kyc_review_document, name="kyc_review_document"),
]
