"""The emulator's request log (``GET /_emulator/requests``): each user's last requests.

Each user's entries are kept apart, so one key's traffic can neither read another's prompts
nor push its entries out: a team sharing a server, or a batch job sending thousands of lines,
leaves every other key's log as it was. Both bounds hold against a peer: a user keeps at
most ``per_user`` entries (the oldest go first), and at most ``max_users`` users are tracked
(the one whose last request is oldest goes first), so memory stays bounded however many
users send requests.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LOG_PER_USER", "DEFAULT_LOG_USERS", "RecordedRequest", "RequestLog"]

DEFAULT_LOG_PER_USER = 1000
DEFAULT_LOG_USERS = 256


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received (kept for tests: what did the client send?)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    timestamp: float
    user: str | None = None
    """The user whose key sent it (each key's control calls see only its own requests)."""


class RequestLog:
    """The last ``per_user`` requests of each of the last ``max_users`` users to send one."""

    def __init__(
        self, per_user: int = DEFAULT_LOG_PER_USER, max_users: int = DEFAULT_LOG_USERS
    ) -> None:
        if per_user < 1 or max_users < 1:
            raise ValueError("a request log keeps at least one request of at least one user")
        self.per_user = per_user
        self.max_users = max_users
        # Entries carry an arrival number, so everyone's log reads in the order received.
        self._logs: OrderedDict[str | None, deque[tuple[int, RecordedRequest]]] = OrderedDict()
        self._arrivals = itertools.count()

    def append(self, request: RecordedRequest) -> None:
        log = self._logs.get(request.user)
        if log is None:
            log = self._logs[request.user] = deque(maxlen=self.per_user)
            while len(self._logs) > self.max_users:
                self._logs.popitem(last=False)
        else:
            self._logs.move_to_end(request.user)
        log.append((next(self._arrivals), request))

    def of(self, user: str | None) -> list[RecordedRequest]:
        """``user``'s requests, or (``None``) everyone's, oldest first."""
        if user is None:
            return list(self)
        # ``list()`` copies in one step: the server's thread may append meanwhile (Emulator).
        return [request for _, request in list(self._logs.get(user, ()))]

    def clear(self, user: str | None = None) -> None:
        """Forget ``user``'s requests, or (``None``) everyone's."""
        if user is None:
            self._logs.clear()
        else:
            self._logs.pop(user, None)

    def __iter__(self) -> Iterator[RecordedRequest]:
        """Everyone's requests, oldest first."""
        logs = [list(log) for log in list(self._logs.values())]
        for _, request in heapq.merge(*logs, key=lambda entry: entry[0]):
            yield request

    def __len__(self) -> int:
        return sum(len(log) for log in self._logs.values())
