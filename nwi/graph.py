"""The dependency graph of config objects.

Ordering uses :class:`graphlib.TopologicalSorter`; this module only adds what
graphlib does not give: *every* member of every cycle (strongly connected
components, iteratively, so a 100k-deep chain cannot overflow the stack),
missing dependencies, what is stuck behind them, and levels ("waves").
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nwi.model import ConfigObject, ObjectKey


@dataclass
class DependencyGraph:
    """Edges point from an object to what it depends on."""

    deps: dict[ObjectKey, tuple[ObjectKey, ...]]
    #: dependencies satisfied from outside the graph (e.g. Ready in an earlier run)
    external: frozenset[ObjectKey] = frozenset()
    cycles: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    missing: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    #: objects that cannot proceed because something they (transitively) need is on a cycle or missing
    blocked: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    #: objects failed up front for another reason (e.g. a path conflict); they block like cycles do
    failed: frozenset[ObjectKey] = frozenset()

    @classmethod
    def build(
        cls, objects: Iterable[ConfigObject], external: Iterable[ObjectKey] = (), failed: Iterable[ObjectKey] = ()
    ) -> DependencyGraph:
        return cls.from_edges({o.key: o.depends_on for o in objects}, external, failed)

    @classmethod
    def from_edges(
        cls,
        edges: Mapping[ObjectKey, Iterable[ObjectKey]],
        external: Iterable[ObjectKey] = (),
        failed: Iterable[ObjectKey] = (),
    ) -> DependencyGraph:
        g = cls({k: tuple(v) for k, v in edges.items()}, frozenset(external), failed=frozenset(failed))
        g._analyse()
        return g

    # ---- analysis ----------------------------------------------------------------
    def _analyse(self) -> None:
        for key, deps in self.deps.items():
            gone = tuple(d for d in deps if d not in self.deps and d not in self.external)
            if gone:
                self.missing[key] = gone
        for component in strongly_connected(self.deps):
            if len(component) > 1 or component[0] in self.deps.get(component[0], ()):
                cycle = _spell_cycle(self.deps, set(component))
                for member in component:
                    self.cycles[member] = cycle
        # everything depending (transitively) on a cycle or a missing object is blocked behind it
        roots = set(self.cycles) | set(self.missing) | self.failed
        behind = self._reachable_dependents(roots) - roots if roots else set()
        for key in behind:
            self.blocked[key] = tuple(d for d in self.deps[key] if d in roots or d in behind)

    def _reachable_dependents(self, roots: set[ObjectKey]) -> set[ObjectKey]:
        rdeps = self.dependents()
        seen = set(roots)
        frontier = list(roots)
        while frontier:
            for d in rdeps.get(frontier.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    frontier.append(d)
        return seen

    # ---- queries -----------------------------------------------------------------
    @property
    def runnable(self) -> list[ObjectKey]:
        """Objects that can be applied: not on a cycle, not missing or behind either."""
        stuck = set(self.cycles) | set(self.missing) | set(self.blocked) | self.failed
        return [k for k in self.deps if k not in stuck]

    def dependents(self) -> dict[ObjectKey, list[ObjectKey]]:
        rdeps: dict[ObjectKey, list[ObjectKey]] = defaultdict(list)
        for key, deps in self.deps.items():
            for d in deps:
                rdeps[d].append(key)
        return rdeps

    def sorter(self, reverse: bool = False) -> graphlib.TopologicalSorter[ObjectKey]:
        """A prepared sorter over the runnable objects (dependents first when ``reverse``)."""
        run = set(self.runnable)
        ts: graphlib.TopologicalSorter[ObjectKey] = graphlib.TopologicalSorter()
        for key in run:
            inside = [d for d in self.deps[key] if d in run]
            if reverse:
                ts.add(key)
                for d in inside:
                    ts.add(d, key)
            else:
                ts.add(key, *inside)
        ts.prepare()
        return ts

    def waves(self, reverse: bool = False) -> list[list[ObjectKey]]:
        """Levels of the runnable objects: wave n depends only on waves < n (sorted within a wave)."""
        ts = self.sorter(reverse)
        out: list[list[ObjectKey]] = []
        while ts.is_active():
            ready = sorted(ts.get_ready())
            out.append(ready)
            ts.done(*ready)
        return out


def strongly_connected(edges: Mapping[ObjectKey, Iterable[ObjectKey]]) -> list[list[ObjectKey]]:
    """Tarjan's strongly connected components, iterative (no recursion limit).

    Runs on integer node ids and lists: each key is hashed once here instead of
    on every visit.
    """
    nodes = list(edges)
    id_of = {k: i for i, k in enumerate(nodes)}
    adjacent = [[id_of[d] for d in edges[k] if d in id_of] for k in nodes]
    index = [-1] * len(nodes)
    low = [0] * len(nodes)
    on_stack = [False] * len(nodes)
    stack: list[int] = []
    result: list[list[ObjectKey]] = []
    counter = 0
    for start in range(len(nodes)):
        if index[start] >= 0:
            continue
        work: list[tuple[int, list[int]]] = []
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack[start] = True
        work.append((start, list(adjacent[start])))
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    work.append((nxt, list(adjacent[nxt])))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(nodes[member])
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def _spell_cycle(edges: Mapping[ObjectKey, Iterable[ObjectKey]], members: set[ObjectKey]) -> tuple[ObjectKey, ...]:
    """One concrete cycle through the component, as graphlib reports it (first node repeated last)."""
    ts: graphlib.TopologicalSorter[ObjectKey] = graphlib.TopologicalSorter()
    for m in sorted(members):
        ts.add(m, *[d for d in edges[m] if d in members])
    try:
        ts.prepare()
    except graphlib.CycleError as exc:
        return tuple(exc.args[1])
    return tuple(sorted(members))  # unreachable for a real component


def describe_cycle(cycle: tuple[ObjectKey, ...], relative_to: ObjectKey | None = None) -> str:
    return " -> ".join(k.short(relative_to) for k in cycle)
