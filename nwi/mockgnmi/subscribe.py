"""Subscribe (gNMI 3.5): ONCE, POLL, and STREAM with ON_CHANGE, SAMPLE and TARGET_DEFINED.

Updates are leaf by leaf (no aggregation: the mock has no schema to allow
it), over config and state merged; a list element without keys matches every
entry. Every response of the initial snapshot is followed by
``sync_response``; ONCE then closes the stream, POLL answers each Poll
message with a snapshot and ``sync_response``, STREAM keeps sending:

* ON_CHANGE (and TARGET_DEFINED, which the target may treat as ON_CHANGE):
  after every committed Set or state change, the leaves that changed are sent
  as updates and the leaves that disappeared as deletes; changes made to the
  datastore behind the server's back (another process on a file-backed store,
  the kernel for the Linux backend) are found by re-reading it every
  ``poll_interval`` seconds.
* SAMPLE: every ``sample_interval`` (default 1 s) all leaves, or only the
  changed ones with ``suppress_redundant``; ``heartbeat_interval`` re-sends
  everything at least that often in both modes.

``updates_only`` (3.5.1.2, 3.5.2.3): the current state is never sent, so the
first message is ``sync_response``. ONCE sends nothing else. STREAM then sends
changes. POLL answers each later Poll with what changed since the answer
before (updates and deletes) and ``sync_response``; the specification is silent
on later polls, the reference server (openconfig/gnmi) answers them with
``sync_response`` alone, and "send only updates to the current state" reads as
the changes.

A SubscriptionList mode or Subscription mode outside the enums is
INVALID_ARGUMENT (as the reference server answers), not served as a default.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from pygnmi.spec.v080 import gnmi_pb2

from nwi.drivers.gnmi_codec import (
    has_wildcard,
    join,
    matching_leaves,
    matching_leaves_at,
    overlaps,
    path_from_proto,
    path_to_proto,
    relative,
    scalar_to_proto,
    value_to_proto,
)
from nwi.mockgnmi.service import Rpc, json_ietf_answer, now_ns, response_prefix
from nwi.mockgnmi.target import Target, merged
from nwi.path import GnmiPath
from nwi.tree import Tree

_LIST_MODE = gnmi_pb2.SubscriptionList.Mode
_SUB_MODE = gnmi_pb2.SubscriptionMode
DEFAULT_SAMPLE_INTERVAL = 1.0
_NS = 1e9


@dataclass
class _Sub:
    path: GnmiPath
    mode: int
    sample_interval: float
    suppress_redundant: bool
    heartbeat: float
    last: dict[GnmiPath, Any] = field(default_factory=dict)
    next_sample: float = 0.0
    next_heartbeat: float = 0.0


class Subscription:
    """One Subscribe RPC."""

    def __init__(self, rpc: Rpc, first: Any, poll_interval: float) -> None:
        self.rpc = rpc
        sl = first.subscribe
        self.list = sl
        self.target: Target = rpc.target(sl.prefix.target)
        self.target.count("Subscribe")
        rpc.enter(self.target)
        self.encoding = rpc.encoding(sl.encoding)
        self.prefix = rpc.path(sl.prefix, "prefix")
        self.base = self.prefix if not has_wildcard(self.prefix) else GnmiPath((), self.prefix.origin)
        self.poll_interval = poll_interval
        if sl.mode not in _LIST_MODE.values():
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"SubscriptionList mode {sl.mode} is not recognized (STREAM, ONCE or POLL)")
        if not sl.subscription:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "the SubscriptionList has no subscription")
        for s in sl.subscription:
            if sl.mode == _LIST_MODE.Value("STREAM") and s.mode not in _SUB_MODE.values():
                rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, f"subscription mode {s.mode} is not recognized "
                          "(TARGET_DEFINED, ON_CHANGE or SAMPLE)")
        self.updates_only = sl.updates_only
        #: the data the leaves were last read from, and those leaves
        self._read: tuple[tuple[Tree, Tree], list[dict[GnmiPath, Any]]] | None = None
        self.answer = json_ietf_answer(self.target, path_from_proto(sl.prefix, strip_modules=False))
        self.subs = [
            _Sub(
                path=join(self.prefix, rpc.path(s.path, "subscription path")),
                mode=s.mode,
                sample_interval=(s.sample_interval / _NS) or DEFAULT_SAMPLE_INTERVAL,
                suppress_redundant=s.suppress_redundant,
                heartbeat=s.heartbeat_interval / _NS,
            )
            for s in sl.subscription
        ]

    # ---- building responses ----------------------------------------------------------
    def _value(self, path: GnmiPath, value: Any) -> Any:
        if self.encoding == "proto":
            return scalar_to_proto(value)
        if self.encoding == "json_ietf":
            value = self.answer(path, value)
        return value_to_proto(value, self.encoding)

    def _response(self, updates: dict[GnmiPath, Any], deletes: list[GnmiPath] | None = None) -> Any:
        notification = gnmi_pb2.Notification(
            timestamp=now_ns(),
            prefix=response_prefix(self.list.prefix),
            update=[gnmi_pb2.Update(path=path_to_proto(relative(p, self.base)), val=self._value(p, v))
                    for p, v in updates.items()],
            delete=[path_to_proto(relative(p, self.base)) for p in deletes or []],
        )
        return gnmi_pb2.SubscribeResponse(update=notification)

    def _current(self) -> list[dict[GnmiPath, Any]]:
        """Each subscription's leaves now.

        Reading every leaf each time was most of a mock fleet's CPU: a STREAM
        re-checks every ``poll_interval`` for changes behind the server's back,
        and every Set changes a few leaves of a device of thousands. So the last
        leaves are returned as they are while the data is the same, and, when
        the only changes since are commits this target made, only the leaves
        under their paths are read again. Anything else reads every leaf.
        """
        sources = self.target.sources()
        if self._read is not None:
            (config, state), last = self._read
            if sources[0] is config and sources[1] is state:
                return last
            paths = self.target.commits_between(config, sources[0]) if sources[1] is state else None
            if paths is not None:
                followed = _followed(self.subs, last, paths, merged(*sources))
                if followed is not None:
                    self._read = sources, followed
                    return followed
        tree = merged(*sources)
        self._read = sources, [dict(matching_leaves(tree, s.path)) for s in self.subs]
        return self._read[1]

    def snapshot(self) -> Iterator[Any]:
        """The current value of every subscribed leaf, one notification per subscription."""
        for sub, current in zip(self.subs, self._current(), strict=True):
            sub.last = current
            if current:
                yield self._response(current)

    @staticmethod
    def sync() -> Any:
        return gnmi_pb2.SubscribeResponse(sync_response=True)

    # ---- modes -----------------------------------------------------------------------
    def skip_snapshot(self) -> None:
        """updates_only: take the current state as known without sending it."""
        for sub, current in zip(self.subs, self._current(), strict=True):
            sub.last = current

    def changes(self) -> Iterator[Any]:
        """What changed since the last answer: updates for changed leaves, deletes for removed ones."""
        for sub, current in zip(self.subs, self._current(), strict=True):
            changed, removed = _difference(sub.last, current)
            sub.last = current
            if changed or removed:
                yield self._response(changed, removed)

    def poll(self, requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            if not request.HasField("poll"):
                self.rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "a POLL subscription accepts only Poll messages")
            yield from self.changes() if self.updates_only else self.snapshot()
            yield self.sync()

    def stream(self, requests: Iterator[Any]) -> Iterator[Any]:
        stop = threading.Event()

        def finished() -> None:
            stop.set()
            self.target.notify()  # wake the loop below so it sees the end at once

        self.rpc.context.add_callback(finished)
        # the client sends nothing more that matters, but its stream must be read: when the client
        # half-closes it (pygnmi's Subscriber.close() does), the subscription ends as if cancelled
        threading.Thread(target=_drain, args=(requests, finished), daemon=True, name="gnmi-subscribe-drain").start()
        start = time.monotonic()
        for sub in self.subs:
            sub.next_sample = start + sub.sample_interval
            sub.next_heartbeat = start + sub.heartbeat if sub.heartbeat else float("inf")
        seen = self.target.version
        while not stop.is_set():
            due = min([s.next_sample for s in self.subs if s.mode == _SUB_MODE.Value("SAMPLE")]
                      + [s.next_heartbeat for s in self.subs], default=float("inf"))
            timeout = max(0.0, min(due - time.monotonic(), self.poll_interval))
            with self.target.changed:
                if self.target.version == seen and not stop.is_set():
                    self.target.changed.wait(timeout)
                seen = self.target.version
            if stop.is_set() or not self.rpc.context.is_active():
                return
            yield from self._tick(time.monotonic())

    def _tick(self, now: float) -> Iterator[Any]:
        for sub, current in zip(self.subs, self._current(), strict=True):
            changed, removed = _difference(sub.last, current)
            heartbeat = now >= sub.next_heartbeat
            if heartbeat:
                sub.next_heartbeat = now + sub.heartbeat
            if sub.mode == _SUB_MODE.Value("SAMPLE"):
                if now < sub.next_sample and not heartbeat:
                    continue
                sub.next_sample = max(sub.next_sample + sub.sample_interval, now)
                send = current if heartbeat or not sub.suppress_redundant else changed
            else:  # ON_CHANGE, TARGET_DEFINED
                send = current if heartbeat else changed
            sub.last = current
            if send or removed:
                yield self._response(send, removed)


_MISSING = object()


def _followed(subs: list[_Sub], last: list[dict[GnmiPath, Any]], paths: list[GnmiPath],
              tree: Tree) -> list[dict[GnmiPath, Any]] | None:
    """Each subscription's leaves after changes at ``paths`` (None: one could not be followed)."""
    out = []
    for sub, leaves in zip(subs, last, strict=True):
        under = []
        for path in paths:
            if has_wildcard(path):
                return None  # (a Set's paths are concrete once expanded; this keeps it so)
            if not overlaps(sub.path, path):
                continue  # nothing this subscription selects lies there
            found = matching_leaves_at(tree, sub.path, path)
            if found is None:
                return None
            under.append((path.elems, found))
        if not under:
            out.append(leaves)
            continue
        kept = {p: v for p, v in leaves.items() if not any(p.elems[:len(e)] == e for e, _ in under)}
        for _, found in under:
            kept.update(found)
        out.append(kept)
    return out


def _difference(last: dict[GnmiPath, Any], current: dict[GnmiPath, Any]) -> tuple[dict[GnmiPath, Any],
                                                                                  list[GnmiPath]]:
    """The leaves that changed or appeared, and those that went."""
    if current is last:
        return {}, []
    return ({p: v for p, v in current.items() if last.get(p, _MISSING) != v},
            [p for p in last if p not in current])


def _drain(requests: Iterator[Any], finished: Callable[[], None]) -> None:
    try:
        for _ in requests:
            pass  # a STREAM subscription is fixed at creation (3.5.1.1); later messages change nothing
    except Exception:  # the RPC ended: nothing left to read
        pass
    finished()


def serve(rpc: Rpc, requests: Iterator[Any], poll_interval: float) -> Iterator[Any]:
    first = next(requests, None)
    if first is None or not first.HasField("subscribe"):
        rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first SubscribeRequest must carry a SubscriptionList")
    sub = Subscription(rpc, first, poll_interval)
    mode = first.subscribe.mode
    if sub.updates_only:  # every mode: the first message is sync_response (3.5.2.3)
        sub.skip_snapshot()
    else:
        yield from sub.snapshot()
    yield sub.sync()
    if mode == _LIST_MODE.Value("ONCE"):
        return
    if mode == _LIST_MODE.Value("POLL"):
        yield from sub.poll(requests)
        return
    yield from sub.stream(requests)
