"""The dependency graph of config objects.

What this module adds to :class:`graphlib.TopologicalSorter` (which the engine
uses to schedule incrementally, see :meth:`DependencyGraph.sorter`): *every*
member of every cycle (strongly connected components, iteratively, so a
100k-deep chain cannot overflow the stack), missing dependencies, what is
stuck behind them, and levels ("waves").

The levels come from the strongly connected components pass the cycle check
needs anyway: Tarjan's algorithm emits a component only after every component
it reaches, i.e. dependencies before dependents. One walk over that order on
integer ids gives each object its level, where going through a
``TopologicalSorter`` would prepare (search for cycles) a second time and
hash every key on every step.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from nwi.model import ConfigObject, ObjectKey


@dataclass
class DependencyGraph:
    """Edges point from an object to what it depends on.

    Build it with :meth:`build` or :meth:`from_edges`, which run the analysis.
    """

    deps: dict[ObjectKey, tuple[ObjectKey, ...]]
    #: dependencies satisfied from outside the graph (e.g. Ready in an earlier run)
    external: frozenset[ObjectKey] = frozenset()
    cycles: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    missing: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    #: objects that cannot proceed because something they (transitively) need is on a cycle or missing
    blocked: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)
    #: objects failed up front for another reason (e.g. a path conflict); they block like cycles do
    failed: frozenset[ObjectKey] = frozenset()
    #: the analysis on integer ids (position in ``deps``), kept for :meth:`waves`
    _nodes: list[ObjectKey] = field(default_factory=list, repr=False, compare=False)
    _adjacent: list[list[int]] = field(default_factory=list, repr=False, compare=False)
    #: every id, dependencies before dependents (Tarjan's emission order)
    _order: list[int] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def build(
        cls, objects: Iterable[ConfigObject], external: Iterable[ObjectKey] = (), failed: Iterable[ObjectKey] = ()
    ) -> DependencyGraph:
        # depends_on is a tuple already: no second dict as from_edges would make
        g = cls({o.key: o.depends_on for o in objects}, frozenset(external), failed=frozenset(failed))
        g._analyse()
        return g

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
        nodes = self._nodes = list(self.deps)
        id_of = {k: i for i, k in enumerate(nodes)}
        adjacent = self._adjacent = []
        for key, deps in self.deps.items():
            inside = []
            gone = []
            for d in deps:
                i = id_of.get(d)
                if i is not None:
                    inside.append(i)
                elif d not in self.external:
                    gone.append(d)
            adjacent.append(inside)
            if gone:
                self.missing[key] = tuple(gone)
        self._order, cyclic = _components(adjacent)
        for component in cyclic:
            members = sorted(nodes[i] for i in component)
            cycle = _spell_cycle(self.deps, set(members))
            for member in members:
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
    def _stuck(self) -> set[ObjectKey]:
        return set(self.cycles) | set(self.missing) | set(self.blocked) | self.failed

    @property
    def runnable(self) -> list[ObjectKey]:
        """Objects that can be applied: not on a cycle, not missing or behind either."""
        stuck = self._stuck()
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
        """Levels of the runnable objects: wave n depends only on waves < n; within a wave, objects keep
        the order they were given in (file and document order: deterministic, and sorting 100k keys
        was the one step of planning that grew faster than linearly).

        An object's level is one more than the highest level among its
        dependencies (its dependents when ``reverse``), 0 without any: the
        rounds in which a :class:`graphlib.TopologicalSorter` would hand it
        out if each round's objects were all marked done together.
        """
        nodes = self._nodes
        return [[nodes[i] for i in wave] for wave in self._wave_ids(reverse)]

    def wave_numbers(self, reverse: bool = False) -> Sequence[int | None]:
        """Every object's wave, in the order the graph was given them (:meth:`build`'s objects, or
        the edges' keys); None for an object that cannot run.

        What :meth:`waves` groups, without the grouping: a planner that goes
        through the objects in their own order (the order they lie in memory,
        file by file) needs no lookup by key to find an object's wave.
        """
        stuck = self._stuck()
        if not stuck:
            return _levels(self._adjacent, self._order, [True] * len(self._nodes), reverse)
        ok = [k not in stuck for k in self._nodes]
        level = _levels(self._adjacent, self._order, ok, reverse)
        return [lv if runnable else None for lv, runnable in zip(level, ok, strict=True)]

    def _wave_ids(self, reverse: bool) -> list[list[int]]:
        out: list[list[int]] = []
        for i, lv in enumerate(self.wave_numbers(reverse)):
            if lv is not None:
                while len(out) <= lv:
                    out.append([])
                out[lv].append(i)
        return out


def _levels(adjacent: Sequence[Sequence[int]], order: Sequence[int], ok: Sequence[bool], reverse: bool) -> list[int]:
    """The level of every node marked ``ok`` (the others' are meaningless).

    ``adjacent[i]`` are node i's dependencies and ``order`` lists dependencies
    before dependents. Every dependency of an ``ok`` node must be ``ok`` (the
    graph blocks a node behind anything stuck); its dependents need not be,
    and those that are not do not count.
    """
    level = [0] * len(adjacent)
    if not reverse:
        for i in order:
            if ok[i]:
                top = -1
                for d in adjacent[i]:
                    if level[d] > top:
                        top = level[d]
                level[i] = top + 1
    else:  # push down to the dependencies, dependents first
        for i in reversed(order):
            if ok[i]:
                below = level[i] + 1
                for d in adjacent[i]:
                    if level[d] < below:
                        level[d] = below
    return level


def _components(adjacent: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Tarjan's strongly connected components on integer ids, iterative (no recursion limit).

    Returns every id in the order the components come out (a component after
    every component it has an edge to), and the components that are cycles:
    more than one member, or one with an edge to itself. The components of one
    (nearly all of them) are not made into lists of their own.
    """
    n = len(adjacent)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    order: list[int] = []
    cyclic: list[list[int]] = []
    counter = 0
    for start in range(n):
        if index[start] >= 0:
            continue
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack[start] = True
        # dependencies are visited last to first (reversed): the order the components come out in,
        # and so which cycle is reported first, stays what it has always been
        work: list[tuple[int, Iterator[int]]] = [(start, reversed(adjacent[start]))]
        while work:
            node, todo = work[-1]
            for nxt in todo:
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    if not adjacent[nxt]:  # no dependencies: a component of one, done at once
                        order.append(nxt)
                        continue
                    stack.append(nxt)
                    on_stack[nxt] = True
                    work.append((nxt, reversed(adjacent[nxt])))
                    break
                if on_stack[nxt] and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    member = stack.pop()
                    on_stack[member] = False
                    if member == node:  # the common case: a component of one
                        order.append(node)
                        if node in adjacent[node]:
                            cyclic.append([node])
                        continue
                    component = [member]
                    while member != node:
                        member = stack.pop()
                        on_stack[member] = False
                        component.append(member)
                    order.extend(component)
                    cyclic.append(component)
    return order, cyclic


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
