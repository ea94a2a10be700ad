"""Blob and queue storage: service clients, JSON state blobs, documents, snapshots."""
