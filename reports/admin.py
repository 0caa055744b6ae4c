from django.contrib import admin

from .models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["event", "format", "variant", "state", "progress", "created_at"]
    list_filter = ["state", "format", "variant"]
