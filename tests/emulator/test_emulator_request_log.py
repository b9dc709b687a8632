"""The request log's bounds: per user, and in how many users it tracks (a peer sending as ever
more users must not grow it without end), with each user's entries kept apart."""

from __future__ import annotations

import pytest

from compactifai.emulator.request_log import RecordedRequest, RequestLog


def _request(user: str | None, path: str) -> RecordedRequest:
    return RecordedRequest("POST", path, {}, None, 0.0, user)


def _paths(requests: list[RecordedRequest]) -> list[str]:
    return [r.path for r in requests]


def test_each_users_entries_are_bounded_and_kept_apart() -> None:
    log = RequestLog(per_user=2, max_users=10)
    log.append(_request("a", "/a1"))
    for i in range(5):
        log.append(_request("b", f"/b{i}"))
    assert _paths(log.of("a")) == ["/a1"]
    assert _paths(log.of("b")) == ["/b3", "/b4"]  # the oldest went first
    assert len(log) == 3


def test_everyones_log_is_in_the_order_received() -> None:
    log = RequestLog()
    for user, path in [("a", "/1"), ("b", "/2"), ("a", "/3"), (None, "/4"), ("b", "/5")]:
        log.append(_request(user, path))
    assert _paths(log.of(None)) == ["/1", "/2", "/3", "/4", "/5"]
    assert _paths(list(log)) == ["/1", "/2", "/3", "/4", "/5"]


def test_the_user_least_recently_heard_from_is_evicted_first() -> None:
    log = RequestLog(per_user=5, max_users=2)
    log.append(_request("a", "/a"))
    log.append(_request("b", "/b"))
    log.append(_request("a", "/a again"))  # a is now the more recent
    log.append(_request("c", "/c"))
    assert log.of("b") == []
    assert _paths(log.of("a")) == ["/a", "/a again"]
    assert _paths(log.of("c")) == ["/c"]


def test_a_peer_inventing_users_cannot_grow_the_log() -> None:
    log = RequestLog(per_user=3, max_users=4)
    for i in range(10_000):
        log.append(_request(f"user-{i}", "/v1/models"))
    assert len(log) == 4
    assert {r.user for r in log} == {"user-9996", "user-9997", "user-9998", "user-9999"}


def test_clearing_one_user_keeps_the_others() -> None:
    log = RequestLog()
    log.append(_request("a", "/a"))
    log.append(_request("b", "/b"))
    log.clear("a")
    assert _paths(list(log)) == ["/b"]
    log.clear()
    assert list(log) == []


def test_bounds_must_keep_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RequestLog(per_user=0)
    with pytest.raises(ValueError, match="at least one"):
        RequestLog(max_users=0)
