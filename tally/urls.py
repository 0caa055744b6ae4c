from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import metrics, offline, views
from .api import ApiDocsPermission
from .auth import ThrottledLoginView

urlpatterns = [
    # The admin signs in through the same throttled login.
    path("admin/login/", RedirectView.as_view(url="/accounts/login/?next=/admin/")),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("sw.js", offline.service_worker, name="service-worker"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[ApiDocsPermission]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[ApiDocsPermission]
        ),
        name="api-docs",
    ),
    path("api/v1/", include("retro.api_urls")),
    path("api/v1/", include("integrations.api_urls")),
    path("api/v1/", include("runbooks.api_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("runbooks/", include("runbooks.urls")),
    path("api/v1/", include("search.api_urls")),
    path("search/", include("search.urls")),
    path("api/v1/", include("webhooks.api_urls")),
    path("", include("webhooks.urls")),
    path("", include("retro.notification_urls")),
    path("", include("integrations.urls")),
    path("", include("retro.meeting_urls")),
    path("", include("retro.audit_urls")),
    path("", include("reports.urls")),
    path("", include("retro.urls")),
]
