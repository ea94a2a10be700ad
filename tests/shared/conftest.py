"""Fixtures shared by the tests of shared/: a local webhook receiver, and the replicated estate the status
page tests read."""

from tests.shared.replicated_estate import replicated_estate
from tests.shared.webhook_receiver import webhook

__all__ = ["replicated_estate", "webhook"]
