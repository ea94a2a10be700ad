"""The outage workflow: promote a target to acting primary, fail back to the original, and drill."""
