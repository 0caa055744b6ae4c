from django.urls import path

from . import views

app_name = "runbooks"

urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("new/", views.runbook_create, name="create"),
    path("preview/", views.runbook_preview, name="preview"),
    path("entry-picker/", views.entry_picker, name="entry-picker"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/steps/<int:number>/", views.run_step, name="run-step"),
    path("runs/<int:run_id>/changes/", views.run_changes, name="run-changes"),
    path("runs/<int:run_id>/finish/", views.run_finish, name="run-finish"),
    path("<slug:slug>/", views.runbook_detail, name="detail"),
    path("<slug:slug>/edit/", views.runbook_edit, name="edit"),
    path("<slug:slug>/review/", views.runbook_review, name="review"),
    path("<slug:slug>/start/", views.run_start, name="start"),
    path("<slug:slug>/link/", views.runbook_link, name="link"),
    path("<slug:slug>/diff/", views.runbook_diff, name="diff"),
    path("<slug:slug>/revisions/<int:number>/", views.revision_detail, name="revision"),
    path("<slug:slug>/revisions/<int:number>/restore/", views.revision_restore, name="restore"),
]
