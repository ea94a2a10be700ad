"""Azure Functions entry point: builds the FunctionApp and registers the blueprints.

Kept free of settings and I/O so the host can index it even when settings are missing.
"""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
