"""English output formats: every date-time carries its zone's label (T), in the active zone."""

DATETIME_FORMAT = "D d M Y H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
