"""The Azure Functions adapters: the only modules that import azure.functions.

One blueprint per concern (timer, step queue, replication HTTP API, backup HTTP API, health), each
function a thin shim over a plain handler that tests call with real azure.functions request objects.
"""
