"""Post-event reports: one content assembly (content.py) rendered as PDF, Markdown, CSV or JSON."""
