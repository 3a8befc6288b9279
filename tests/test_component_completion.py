"""Small linked components have every pair inside them scored, blocked or not."""

from __future__ import annotations

import itertools

import networkx as nx
import polars as pl

from benchmarks.synthetic import generate
from matcher.clustering import COMPLETION_LIMIT
from matcher.ingest import validate
from matcher.pipeline import Linker
from matcher.settings import load_preset


def test_every_pair_inside_a_small_linked_component_is_scored() -> None:
    settings = load_preset("msix")
    raw, _ = generate(3000, seed=3)
    records = validate(raw, settings).records
    linker = Linker(settings)
    result = linker.link(records)
    pairs = result.pairs
    completed = result.cluster_stats["component_pairs"]
    assert completed > 0
    # the completed pairs come after the candidates, under the rule number past the last
    assert (pairs["rule"] == len(linker.rules)).sum() == completed
    assert len(pairs) == result.blocking.candidates + completed

    links = pairs.filter((pl.col("match_probability") >= settings.thresholds.upper)
                         & ~pl.col("possible_multiple_birth"))
    graph: nx.Graph[str] = nx.Graph(links.select("record_id_l", "record_id_r").rows())
    scored = {frozenset(p) for p in pairs.select("record_id_l", "record_id_r").rows()}
    checked = 0
    for component in nx.connected_components(graph):
        if 3 <= len(component) <= COMPLETION_LIMIT:
            for a, b in itertools.combinations(sorted(component), 2):
                assert frozenset((a, b)) in scored, (a, b)
                checked += 1
    assert checked > completed
