"""``Emulator``: the emulated API on a real uvicorn server in a background thread."""

from __future__ import annotations

import inspect
import socket
import threading
import time
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

from ._connections import (
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    guarded_protocol,
)
from .app import create_app
from .catalog import Catalog, EmulatedModel, parse_catalog
from .faults import FaultKind, FaultOptions, FaultSpec
from .state import (
    DEFAULT_FILE_QUOTA_BYTES,
    DEFAULT_FILE_TTL_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOTAL_FILE_QUOTA_BYTES,
    EmulatorState,
    ReasoningField,
    RecordedRequest,
)
from .usage import UsageLedger

if TYPE_CHECKING:
    from typing_extensions import Unpack  # annotations only: no runtime dependency

__all__ = ["Emulator"]


class Emulator:
    """A local CompactifAI API for tests, demos and benchmarks (like moto is for AWS).

    >>> with Emulator() as emu:                      # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)

    Each API key is a distinct user (``customer-1``, ``customer-2``, ... in key order).
    ``latency`` adds seconds to every ``/v1`` response (async, concurrent requests overlap),
    ``chunk_delay`` sleeps between streamed chunks, ``seed`` seeds sampling variation and
    probabilistic faults.

    ``catalog``: ``"current"`` (today's service, the default: reasoning models, capability
    flags, no usage statistics endpoint), ``"reference"`` (the reference page's nine models,
    with ``/v1/usage/completions``) or the path of a JSON file shaped like ``GET /v1/models``
    (see :mod:`compactifai.emulator.catalog`). ``models`` replaces the catalog's list with
    models built in code. ``usage_endpoint`` overrides whether ``/v1/usage/completions``
    exists (``None``: as the catalog says). ``reasoning_field`` names the field that carries
    reasoning: ``"reasoning"`` (2026 vLLM) or ``"reasoning_content"`` (older vLLM).
    ``max_body_bytes`` bounds request bodies (larger ones answer 413); ``region`` is the value
    of the ``x-served-by-region`` header.

    As a server shared by a team or a CI fleet: each key's control calls
    (``/_emulator/faults``, ``/_emulator/requests``, ``/_emulator/reset``) act on that key's
    own traffic; ``admin_key`` is a key for the control endpoints alone that acts on everyone's.
    Uploaded files are bounded by ``file_quota_bytes`` per key (512 MiB) and
    ``total_file_quota_bytes`` (2 GiB), answering 400 past them, and expire after
    ``file_ttl`` seconds (30 days; ``None``: never). A connection whose request head is not
    complete within ``head_timeout`` seconds (10) is closed; past ``max_connections`` open
    connections (1000) requests answer 503.
    """

    def __init__(
        self,
        api_keys: Sequence[str] = ("test-key",),
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        seed: int = 0,
        *,
        catalog: str | PathLike[str] | Catalog = "current",
        reasoning_field: ReasoningField = "reasoning",
        usage_endpoint: bool | None = None,
        chunk_delay: float = 0.0,
        models: Sequence[EmulatedModel] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        region: str = "emulator-local-1",
        log_level: str = "warning",
        admin_key: str | None = None,
        file_quota_bytes: int = DEFAULT_FILE_QUOTA_BYTES,
        total_file_quota_bytes: int = DEFAULT_TOTAL_FILE_QUOTA_BYTES,
        file_ttl: float | None = DEFAULT_FILE_TTL_SECONDS,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        # The app's settings are create_app's parameters, passed on by name (not listed again).
        accepted = inspect.signature(create_app).parameters
        app_settings = {name: value for name, value in locals().items() if name in accepted}
        app_settings["api_keys"] = tuple(api_keys)
        if not head_timeout > 0:
            raise ValueError("head_timeout must be a positive number of seconds")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.host = host
        self.port = port
        self.log_level = log_level
        self.head_timeout = head_timeout
        self.max_connections = max_connections
        self.app = create_app(**app_settings)
        self.state: EmulatorState = self.app.state.emulator
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # -- addresses ----------------------------------------------------------------------------
    @property
    def api_key(self) -> str:
        return self.state.api_keys[0]

    @property
    def api_keys(self) -> tuple[str, ...]:
        return tuple(self.state.api_keys)

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:53211/v1``."""
        return self.root_url + "/v1"

    @property
    def catalog_name(self) -> str:
        """``current``, ``reference``, or the path of the catalog file served."""
        return self.state.catalog_name

    @property
    def models(self) -> tuple[EmulatedModel, ...]:
        """The models served, in catalog order."""
        return tuple(self.state.model_map.values())

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def user_id(self, api_key: str | None = None) -> str:
        """The user id the service reports for an API key (default: the first key)."""
        return self.state.users[api_key or self.api_key]

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> Emulator:
        """Start serving; returns once the server accepts connections."""
        if self.running:
            return self
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only disables Nagle (TCP_NODELAY) on accepted sockets
        # whose protocol says TCP, and Nagle plus delayed ACKs costs ~40 ms per response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            backlog=4096,
            timeout_keep_alive=30,
            http=guarded_protocol(self.head_timeout),
            limit_concurrency=self.max_connections,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="compactifai-emulator", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("The emulator's server thread exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The emulator did not start in time")
            time.sleep(0.002)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the server down and join its thread."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting ----------------------------------------------------------------------------
    def inject_fault(self, kind: FaultKind, **options: Unpack[FaultOptions]) -> FaultSpec:
        """Script a fault for the next ``count`` matching requests (``None`` = all of them);
        ``options`` are the :class:`FaultSpec` fields (``count=1`` by default)."""
        spec = FaultSpec(kind, **options)
        self.state.faults.add(spec)
        return spec

    def clear_faults(self) -> None:
        self.state.faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """The scripted faults still active (with their remaining count)."""
        return self.state.faults.active()

    @property
    def ledger(self) -> UsageLedger:
        """Usage served so far (what ``/v1/usage/completions`` aggregates)."""
        return self.state.ledger

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last requests received (up to 1000 per key), oldest first, without credentials."""
        return list(self.state.requests)

    def reset(self) -> None:
        """Clear faults, usage, the request log, files, batches and stored responses (every
        user's); serve the start catalog again."""
        self.state.reset()

    def serve_catalog(self, catalog: Any) -> None:
        """Serve a new catalog from now on: decoded JSON shaped like ``GET /v1/models``, as
        ``POST /_emulator/catalog`` takes it (:meth:`reset` restores the start catalog)."""
        self.state.serve_models(parse_catalog(catalog, "the new catalog"))

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Emulator {self.base_url} {state}>"
