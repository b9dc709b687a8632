"""The emulated CompactifAI API as a Starlette application.

Routes (all ``/v1`` routes need ``Authorization: Bearer <key>``, checked before any scripted
fault acts):

- ``GET /v1/models``, ``GET /v1/models/{model_id}`` (unknown id: 404 ``{"detail": "Not Found"}``)
- ``POST /v1/chat/completions`` (JSON or SSE with ``stream: true``; see :mod:`.chat`)
- ``POST /v1/completions`` (no streaming, like the service)
- ``POST /v1/responses``, ``GET /v1/responses/{response_id}`` (see :mod:`.responses`)
- ``POST /v1/audio/transcriptions`` (multipart; the transcription model only: see :mod:`.audio`)
- ``POST /v1/usage/completions`` (only with the ``reference`` catalog or ``usage_endpoint=True``)
- control plane: ``GET /_emulator/health`` (open); ``GET|POST|DELETE /_emulator/faults``,
  ``POST /_emulator/reset``, ``GET /_emulator/requests``, ``POST|DELETE /_emulator/catalog``
  (a new ``GET /v1/models`` body to serve; see :mod:`.catalog_control`) (a valid API key,
  and ``Content-Type: application/json`` on POST/DELETE). An API key sees and scripts its own
  requests only: its faults act on its requests, its reset clears its faults, usage, log,
  files, batches and stored responses. The admin key (``admin_key``, no ``/v1`` key) acts on
  everyone's; with an admin key set, only it changes the catalog (served to everyone).

Every response carries ``x-request-id``, ``x-served-by-region`` and
``x-envoy-upstream-service-time``; a request body over ``max_body_bytes`` (16 MiB by default)
answers 413 with the service's JSON error body.

Request headers the emulator reads: ``x-request-id`` (echoed), ``x-emulator-fault`` (a JSON
fault applied to this request only), ``x-emulator-stream-style: minimal`` (the reference page's
framing: no role delta, no finish chunk).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from os import PathLike
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._checks import (
    DEFAULT_COMPLETION_MAX_TOKENS,
    check_context,
    check_generation,
    model_or_400,
    stop_strings,
    usage_object,
)
from ._fault_responses import (
    fault_for,
    finish_json,
    html_fault_response,
    status_fault_response,
)
from ._http import (
    INVALID_TOKEN_DETAIL,
    NOT_FOUND,
    ApiError,
    JsonResponse,
    ServiceMiddleware,
    Unauthorized,
    Unprocessable,
    validation_detail,
)
from ._schemas import CompletionRequest
from .audio import install_audio
from .batches import install_batches
from .catalog import Catalog, EmulatedModel
from .catalog_control import catalog_endpoint
from .chat import chat_completions
from .faults import FaultError, FaultSpec
from .responses import create_response, retrieve_response
from .state import (
    DEFAULT_FILE_QUOTA_BYTES,
    DEFAULT_FILE_TTL_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOTAL_FILE_QUOTA_BYTES,
    EmulatorState,
    ReasoningField,
    record_request,
    recorded_json_body,
)
from .tokenizer import apply_limits, count_tokens
from .usage import UsageError

__all__ = ["create_app"]


Handler = Callable[[Request, EmulatorState, str, "FaultSpec | None"], Awaitable[Response]]


def _v1(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a /v1 handler: latency, the key check, then faults, and the error shapes.

    The key is checked before any fault acts: a scripted fault is meant for the client under
    test, and an unauthenticated request neither triggers nor uses it up.
    """

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        try:
            if state.latency > 0:
                await asyncio.sleep(state.latency)
            user = _authenticated_user(state, request)
            request.state.emulator_user = user
            fault = fault_for(state, request, user)
            if fault is not None:
                if fault.kind == "delay":
                    await asyncio.sleep(fault.sleep)
                    fault = None
                elif fault.kind == "status":
                    return status_fault_response(fault)
                elif fault.kind == "html":
                    return html_fault_response(fault)
                elif fault.kind == "wrong_content_type":
                    return Response(
                        "upstream answered: OK (this is not JSON)", 200, media_type="text/plain"
                    )
            return await handler(request, state, user, fault)
        except ApiError as exc:
            return exc.response()
        except Unauthorized:
            return JsonResponse({"detail": INVALID_TOKEN_DETAIL}, 401)
        except Unprocessable as exc:
            return JsonResponse({"detail": exc.detail}, 422)

    return endpoint


def _authenticated_user(state: EmulatorState, request: Request) -> str:
    """The user whose key the request carries (``Authorization: Bearer <key>``)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    user = state.user_for_key(key.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthorized()
    return user


async def list_models(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    await record_request(request, state, None)
    if fault is None:
        return JsonResponse(state._models_body)
    return finish_json(json.loads(state._models_body), fault)


async def retrieve_model(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    await record_request(request, state, None)
    model_id = request.path_params["model_id"]
    model = state.model_map.get(model_id)
    if model is None:
        return JsonResponse(NOT_FOUND, 404)
    return finish_json(model.to_json(), fault)


async def completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await recorded_json_body(request, state)
    try:
        req = CompletionRequest.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(validation_detail(exc)) from None
    model = model_or_400(state, req.model)
    if req.stream:
        raise ApiError(
            400,
            "Streaming is not supported for /v1/completions; use /v1/chat/completions to stream.",
            param="stream",
        )
    prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
    if not prompts or any(not p for p in prompts):
        raise ApiError(
            400, "prompt must be a non-empty string or list of non-empty strings.", param="prompt"
        )
    check_generation(req.temperature, req.top_p, req.n, req.max_tokens)
    cap = req.max_tokens or DEFAULT_COMPLETION_MAX_TOKENS
    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    for i, prompt in enumerate(prompts):
        p_tokens = count_tokens(prompt)
        check_context(model, p_tokens, cap)
        text = state.generator.completion(prompt, req.temperature, model.id)
        tokens, finish = apply_limits(
            text, max_tokens=cap, stop=stop_strings(req.stop), ignore_eos=bool(req.ignore_eos)
        )
        prompt_tokens += p_tokens
        completion_tokens += len(tokens)
        choices.append(
            {
                "index": i,
                "text": "".join(tokens),
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
            }
        )
    payload = {
        "id": "cmpl-" + uuid.uuid4().hex,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model.id,
        "choices": choices,
        "usage": usage_object(prompt_tokens, completion_tokens),
    }
    response = finish_json(payload, fault)
    if fault is None or fault.kind == "stall_stream":
        state.ledger.record(user, model.id, prompt_tokens, completion_tokens)
    return response


async def usage_completions(
    request: Request, state: EmulatorState, user: str, fault: FaultSpec | None
) -> Response:
    body = await recorded_json_body(request, state)
    if not isinstance(body, dict):
        raise Unprocessable(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": body,
                }
            ]
        )
    if "start_time" not in body:
        raise Unprocessable(
            [
                {
                    "type": "missing",
                    "loc": ["body", "start_time"],
                    "msg": "Field required",
                    "input": body,
                }
            ]
        )
    try:
        result = state.ledger.query(user, body)
    except UsageError as exc:
        raise ApiError(400, str(exc), param=exc.param) from None
    return finish_json(result, fault)


# --------------------------------------------------------------------------------------------
# Control plane
# --------------------------------------------------------------------------------------------


def _control(
    handler: Callable[[Request, EmulatorState, str | None], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a control endpoint: a valid key, and a JSON content type on POST/DELETE.

    The handler gets the user whose faults, log and files it acts on: the key's own user, or
    ``None`` (everyone) for the admin key. On a server shared by a team, one key must neither
    read another's prompts nor break another's requests. The key also keeps web pages out (a
    cross-site form can post text/plain but not application/json without a preflight).
    """

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        scope: str | None
        if scheme.lower() == "bearer" and state.is_admin_key(key):
            scope = None
        else:
            try:
                scope = _authenticated_user(state, request)
            except Unauthorized:
                return JsonResponse({"detail": INVALID_TOKEN_DETAIL}, 401)
        if request.method in ("POST", "DELETE"):
            media_type = request.headers.get("content-type", "").partition(";")[0].strip()
            if media_type.lower() != "application/json":
                return ApiError(
                    415,
                    "Control endpoints take Content-Type: application/json "
                    f"(got {media_type or 'none'}).",
                ).response()
        return await handler(request, state, scope)

    return endpoint


async def health(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    return JsonResponse({"status": "ok", "models": len(state.model_map)})


async def faults_endpoint(request: Request, state: EmulatorState, user: str | None) -> Response:
    if request.method == "DELETE":
        state.faults.clear(user)
    elif request.method == "POST":
        try:
            data = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return ApiError(
                400, "The body must be a JSON fault object or a list of them."
            ).response()
        items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
        items = items if isinstance(items, list) else [items]
        try:
            specs = [FaultSpec.from_json(item) for item in items]
        except FaultError as exc:
            return ApiError(400, str(exc), param=exc.field).response()
        for spec in specs:
            state.faults.add(spec, user)
    return JsonResponse({"faults": state.faults.active(user)})


async def reset_endpoint(request: Request, state: EmulatorState, user: str | None) -> Response:
    state.reset(user)
    return JsonResponse({"status": "reset"})


async def requests_endpoint(request: Request, state: EmulatorState, user: str | None) -> Response:
    return JsonResponse(
        {
            "requests": [
                {
                    "method": r.method,
                    "path": r.path,
                    "headers": r.headers,
                    "body": r.body,
                    "timestamp": r.timestamp,
                }
                for r in state.requests_of(user)
            ]
        }
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JsonResponse({"detail": exc.detail}, exc.status_code, exc.headers)


def _routes(state: EmulatorState) -> list[BaseRoute]:
    """Every route the app serves, one group per endpoint family."""
    routes: list[BaseRoute] = [
        Route("/v1/models", _v1(list_models), methods=["GET"]),
        Route("/v1/models/{model_id:path}", _v1(retrieve_model), methods=["GET"]),
        Route("/v1/chat/completions", _v1(chat_completions), methods=["POST"]),
        Route("/v1/completions", _v1(completions), methods=["POST"]),
        Route("/v1/responses", _v1(create_response), methods=["POST"]),
        Route("/v1/responses/{response_id}", _v1(retrieve_response), methods=["GET"]),
    ]
    if state.usage_endpoint:
        routes.append(Route("/v1/usage/completions", _v1(usage_completions), methods=["POST"]))
    # More endpoint families (files, batches, ...) add their routes here, each from its own
    # module, wrapped in _v1 like the ones above.
    routes += [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/faults", _control(faults_endpoint), methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/reset", _control(reset_endpoint), methods=["POST"]),
        Route("/_emulator/requests", _control(requests_endpoint), methods=["GET"]),
        Route("/_emulator/catalog", _control(catalog_endpoint), methods=["POST", "DELETE"]),
    ]
    return routes


def create_app(
    api_keys: Sequence[str] = ("test-key",),
    *,
    latency: float = 0.0,
    seed: int = 0,
    usage_endpoint: bool | None = None,
    chunk_delay: float = 0.0,
    models: Sequence[EmulatedModel] | None = None,
    catalog: str | PathLike[str] | Catalog = "current",
    reasoning_field: ReasoningField = "reasoning",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    region: str = "emulator-local-1",
    admin_key: str | None = None,
    file_quota_bytes: int = DEFAULT_FILE_QUOTA_BYTES,
    total_file_quota_bytes: int = DEFAULT_TOTAL_FILE_QUOTA_BYTES,
    file_ttl: float | None = DEFAULT_FILE_TTL_SECONDS,
    state: EmulatorState | None = None,
) -> Starlette:
    """The emulator as an ASGI app (use with ``httpx.ASGITransport`` or any ASGI server).

    The arguments are :class:`~compactifai.emulator.Emulator`'s. The shared state is
    available as ``app.state.emulator`` (an :class:`EmulatorState`).
    """
    if state is None:
        # The settings are EmulatorState's fields, passed on by name (not listed again).
        fields = inspect.signature(EmulatorState).parameters
        settings = {name: value for name, value in locals().items() if name in fields}
        settings["api_keys"] = tuple(api_keys)
        settings["models"] = tuple(models) if models is not None else None
        state = EmulatorState(**settings)
    app = Starlette(
        routes=_routes(state),
        middleware=[
            Middleware(ServiceMiddleware, max_body_bytes=state.max_body_bytes, region=state.region)
        ],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.emulator = state
    # Files and batches, and audio, live in their own modules; they get the /v1 wrapper.
    install_batches(app, _v1)
    install_audio(app, _v1)
    return app
