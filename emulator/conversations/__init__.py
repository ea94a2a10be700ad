"""The analyze-conversations APIs: CLU (Conversation) and Orchestration projects, authoring and runtime."""
