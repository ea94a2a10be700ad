"""Offline emulator of the Azure AI Language authoring and runtime REST API. Never deployed."""
