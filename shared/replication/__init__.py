"""The replication run kind: drift, plan, steps, sync records, training budget."""
