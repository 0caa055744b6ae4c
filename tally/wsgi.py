"""WSGI entry point (gunicorn tally.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tally.settings")
application = get_wsgi_application()
