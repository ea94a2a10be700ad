"""Disaster-recovery replication of Azure AI Language custom projects (the product package)."""
