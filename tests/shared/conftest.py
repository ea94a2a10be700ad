"""Fixtures shared by the tests of shared/: a local webhook receiver."""

from tests.shared.webhook_receiver import webhook

__all__ = ["webhook"]
