"""Azure Functions entry point: builds the FunctionApp and registers the blueprints.

Kept free of settings and I/O so the host can index it even when settings are missing: the engine is
built on the first invocation (shared.functions.engine_provider), and a bad setting surfaces there as
a clear error instead of "0 functions found".
"""

import azure.functions as func

from shared.functions import (
    health,
    http_api,
    outage_api,
    snapshots_api,
    status_page,
    steps_queue,
    timer,
    worker_logging,
)

# Before any function runs: no log line of this worker (ours, urllib3's, the Azure SDKs') carries a secret.
worker_logging.redact_worker_logs()
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (timer.bp, steps_queue.bp, http_api.bp, snapshots_api.bp, outage_api.bp, status_page.bp,
                  health.bp):
    app.register_functions(blueprint)
