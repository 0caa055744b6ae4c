"""Output formats (settings.FORMAT_MODULE_PATH): a date-time printed without a filter, as the
admin prints every model's times, names its zone."""
