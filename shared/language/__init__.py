"""Talking to the Language service: authoring and runtime clients, export format, retries,
credentials, request budget, regions."""
