from django.urls import path

from . import api

urlpatterns = [
    path("runbooks/", api.RunbookListApi.as_view(), name="api-runbooks"),
    path("runbooks/<slug:slug>/", api.RunbookDetailApi.as_view(), name="api-runbook"),
    path(
        "runbooks/<slug:slug>/revisions/",
        api.RevisionListApi.as_view(),
        name="api-runbook-revisions",
    ),
    path(
        "runbooks/<slug:slug>/revisions/<int:number>/",
        api.RevisionDetailApi.as_view(),
        name="api-runbook-revision",
    ),
    path("runbooks/<slug:slug>/diff/", api.DiffApi.as_view(), name="api-runbook-diff"),
    path("runbooks/<slug:slug>/runs/", api.RunStartApi.as_view(), name="api-runbook-runs"),
    path("runbooks/<slug:slug>/links/", api.LinkApi.as_view(), name="api-runbook-links"),
    path("runs/<int:run_id>/", api.RunDetailApi.as_view(), name="api-run"),
    path("runs/<int:run_id>/steps/<int:number>/", api.StepApi.as_view(), name="api-run-step"),
    path("runs/<int:run_id>/finish/", api.RunFinishApi.as_view(), name="api-run-finish"),
]
