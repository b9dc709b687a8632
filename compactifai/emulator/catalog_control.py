"""``POST|DELETE /_emulator/catalog``: change the served catalog while clients run.

The service changes its catalog every few months and per account, without notice. A test
posts a body shaped like ``GET /v1/models`` (the same JSON a ``catalog=PATH`` file holds,
``"emulator"`` objects included) and the next ``GET /v1/models`` lists it and chat requests
follow its flags; ``DELETE`` (or ``POST /_emulator/reset``) serves the start catalog again.
Behind the control plane's rules (a valid API key, a JSON content type). The catalog is served
to every user: on a server with an admin key, only the admin key changes it (403 for an API key).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from ._http import ApiError, JsonResponse
from .catalog import CatalogError, parse_catalog
from .state import EmulatorState

__all__ = ["catalog_endpoint"]


async def catalog_endpoint(request: Request, state: EmulatorState, user: str | None) -> Response:
    if user is not None and state.admin_key is not None:
        return ApiError(
            403, "On this server only the admin key changes the catalog (everyone's)."
        ).response()
    if request.method == "DELETE":
        state.serve_models(state.start_models)
    else:
        try:
            data = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return ApiError(400, "The body must be JSON shaped like GET /v1/models.").response()
        try:
            models = parse_catalog(data, "the posted catalog")
        except CatalogError as exc:
            return ApiError(400, str(exc)).response()
        state.serve_models(models)
    return JsonResponse({"models": [m.id for m in state.models or ()]})
