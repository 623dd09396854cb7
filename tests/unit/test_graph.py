"""The dependency graph: waves, cycles (every member), missing dependencies, what is behind them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nwi.graph import DependencyGraph, describe_cycle
from nwi.model import ObjectKey
from tests.unit.engine_kit import obj


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
    assert len(set(g.cycles[K("0")])) == n  # one component: the cycle reported runs through all n


def rounds(g: DependencyGraph, reverse: bool) -> list[list[ObjectKey]]:
    """Levels as graphlib hands them out when each round is marked done together."""
    ts = g.sorter(reverse)
    out = []
    while ts.is_active():
        ready = sorted(ts.get_ready())
        out.append(ready)
        ts.done(*ready)
    return out


def test_levels_follow_the_longest_chain_both_ways() -> None:
    # a diamond (b and c over a, d over both) with a shortcut e -> a next to the long way e -> d -> b -> a
    edges = {K("d"): (K("b"), K("c")), K("b"): (K("a"),), K("c"): (K("a"),), K("a"): (), K("e"): (K("a"), K("d"))}
    g = DependencyGraph.from_edges(edges)
    assert g.waves() == [[K("a")], [K("b"), K("c")], [K("d")], [K("e")]]
    assert g.waves(reverse=True) == [[K("e")], [K("d")], [K("b"), K("c")], [K("a")]]


def test_levels_leave_out_what_cannot_run_and_do_not_wait_for_it() -> None:
    edges = {
        K("a"): (), K("b"): (K("a"),),
        K("late"): (K("b"), K("gone")),  # missing: it neither runs nor pushes b or a further down in reverse
        K("stuck"): (K("a"),), K("after-stuck"): (K("stuck"),),  # failed up front, and what is behind it
        K("x"): (K("y"),), K("y"): (K("x"), K("a")),  # a cycle over a
        K("ext"): (K("old"),),  # needs only what is Ready outside: the first wave
    }
    g = DependencyGraph.from_edges(edges, external=[K("old")], failed=[K("stuck")])
    assert g.waves() == [[K("a"), K("ext")], [K("b")]]
    assert g.waves(reverse=True) == [[K("b"), K("ext")], [K("a")]]


def test_wave_numbers_are_the_waves_object_by_object() -> None:
    objects = [obj("c", "r1", "/c", deps=["b"]), obj("b", "r1", "/b", deps=["a"]), obj("a", "r1", "/a"),
               obj("x", "r1", "/x", deps=["a"]), obj("y", "r1", "/y", deps=["gone"]), obj("z", "r1", "/z", deps=["y"])]
    g = DependencyGraph.build(objects)
    assert g.wave_numbers() == [2, 1, 0, 1, None, None]  # y misses a dependency, z is behind it
    assert g.wave_numbers(reverse=True) == [0, 1, 2, 0, None, None]
    for reverse in (False, True):  # the same as waves(), in the objects' own order
        numbers = g.wave_numbers(reverse)
        assert [[o.key for o, n in zip(objects, numbers, strict=True) if n == w] for w in range(3)] == g.waves(reverse)


def test_empty_graph_has_no_waves() -> None:
    g = DependencyGraph.from_edges({})
    assert g.waves() == [] and g.waves(reverse=True) == []


NAMES = [f"n{i}" for i in range(12)]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(NAMES), st.lists(st.sampled_from([*NAMES, "ext", "gone"]), max_size=4)),
    st.sets(st.sampled_from(NAMES), max_size=2),
)
def test_waves_are_graphlib_rounds_on_any_graph(deps: dict[str, list[str]], failed: set[str]) -> None:
    g = DependencyGraph.from_edges({K(k): [K(d) for d in v] for k, v in deps.items()}, external=[K("ext")],
                                   failed=[K(f) for f in failed])
    for reverse in (False, True):
        waves = g.waves(reverse)
        assert [sorted(w) for w in waves] == rounds(g, reverse)
        given = list(g.deps)  # within a wave, the order the objects were given in
        assert all(w == sorted(w, key=given.index) for w in waves)
        assert sorted(k for w in waves for k in w) == sorted(g.runnable)
        level = {k: n for n, w in enumerate(waves) for k in w}
        for key in g.runnable:  # each dependency (dependent, reversed) that runs is in an earlier wave
            for d in g.deps[key]:
                if d in level:
                    assert (level[key] < level[d]) if reverse else (level[d] < level[key])
