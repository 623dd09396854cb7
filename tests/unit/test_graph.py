"""The dependency graph: waves, cycles (every member), missing dependencies, what is behind them."""

from __future__ import annotations

from nwi.graph import DependencyGraph, describe_cycle, strongly_connected
from nwi.model import ObjectKey


def K(name: str) -> ObjectKey:
    return ObjectKey("SROSConfig", "ns", name)


def test_waves_and_reverse_waves() -> None:
    g = DependencyGraph.from_edges({K("c"): (K("b"),), K("b"): (K("a"),), K("a"): (), K("x"): (K("a"),)})
    assert g.waves() == [[K("a")], [K("b"), K("x")], [K("c")]]
    assert g.waves(reverse=True) == [[K("c"), K("x")], [K("b")], [K("a")]]


def test_every_member_of_every_cycle_and_what_is_behind() -> None:
    edges = {
        K("a"): (K("c"),), K("b"): (K("a"),), K("c"): (K("b"),),  # a -> c -> b -> a
        K("d"): (K("e"),), K("e"): (K("d"), K("a")),  # a second cycle, touching the first
        K("behind"): (K("b"),), K("further"): (K("behind"),),
        K("free"): (),
    }
    g = DependencyGraph.from_edges(edges)
    assert set(g.cycles) == {K("a"), K("b"), K("c"), K("d"), K("e")}
    spelled = g.cycles[K("a")]
    assert spelled[0] == spelled[-1] and set(spelled) == {K("a"), K("b"), K("c")}
    assert set(g.blocked) == {K("behind"), K("further")}
    assert g.runnable == [K("free")]
    assert describe_cycle(spelled, K("a")).count(" -> ") == 3


def test_missing_dependency_blocks_dependents_but_external_satisfies() -> None:
    edges = {K("a"): (K("gone"),), K("b"): (K("a"),), K("c"): (K("old"),)}
    g = DependencyGraph.from_edges(edges, external=[K("old")])
    assert g.missing == {K("a"): (K("gone"),)}
    assert g.blocked == {K("b"): (K("a"),)}
    assert g.runnable == [K("c")]


def test_deep_chain_does_not_overflow() -> None:
    n = 100_000
    edges = {K(str(i)): ((K(str(i - 1)),) if i else ()) for i in range(n)}
    edges[K("0")] = (K(str(n - 1)),)  # close it: one 100k-long cycle
    g = DependencyGraph.from_edges(edges)
    assert len(g.cycles) == n
    assert len(strongly_connected(edges)) == 1
