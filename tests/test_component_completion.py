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


def test_linking_across_inputs_checks_two_records_of_one_input_joined_through_the_other(
) -> None:
    """Two children of one input (A1, A2), each fitting the same record of the other input
    (B1: no birth date, no parents), were one identity when linking across inputs only: the
    pair A1-A2 was never compared. It is now scored as evidence against the component, and
    the chain is rebuilt as deduplication rebuilds it; it is kept only below the lower
    threshold (neither a link nor a review item within one input)."""
    settings = load_preset("msix")
    raw, _ = generate(3000, seed=3)
    background = validate(raw, settings).records
    trained = Linker(settings)
    trained.link(background)
    family = {"state": "TX", "first_name": "YARELI", "middle_name": "GUADALUPE",
              "last_name_1": "TZOC", "last_name_2": "XITUMUL", "sex": "F",
              "parent1_first_name": "ROSENDO", "parent2_first_name": "ELVIRA",
              "birth_country": "GT", "birth_city": "HUEHUETENANGO"}
    rows = [{**family, "record_id": "a1", "birth_date": "2010-01-05"},
            {**family, "record_id": "a2", "birth_date": "2013-07-20", "middle_name": "ROSA",
             "sex": "M", "parent1_first_name": "JUAN", "parent2_first_name": "MARIA",
             "birth_country": "MX"},
            {**family, "record_id": "b1", "birth_date": None, "state": "WA",
             "middle_name": None, "sex": None, "parent1_first_name": None,
             "parent2_first_name": None, "birth_country": None}]
    # the background split between the inputs, so that every comparison is made across them
    records = pl.concat([background, validate(pl.DataFrame(rows), settings).records],
                        how="diagonal_relaxed").with_columns(
        source=pl.when(pl.col("record_id") == "b1").then(1)
        .when(pl.col("record_id").is_in(["a1", "a2"])).then(0)
        .otherwise(pl.int_range(pl.len()) % 2).cast(pl.Int32))
    ours = ["a1", "a2", "b1"]

    def identities(link_only: bool) -> tuple[dict[str, str], pl.DataFrame]:
        result = Linker(settings, trained.model).link(records, link_only=link_only)
        owner = dict(result.identities.filter(pl.col("record_id").is_in(ours)).iter_rows())
        pairs = result.pairs.filter(pl.col("record_id_l").is_in(ours)
                                    & pl.col("record_id_r").is_in(ours))
        return owner, pairs

    owner, pairs = identities(link_only=True)
    assert owner["a1"] != owner["a2"]
    within = pairs.filter(pl.col("record_id_l").is_in(["a1", "a2"])
                          & pl.col("record_id_r").is_in(["a1", "a2"]))
    assert within.height == 1
    assert within["match_probability"][0] < settings.thresholds.lower
    assert pairs.height == 3  # and the two pairs across the inputs, both links
    assert (pairs.filter(pl.col("record_id_r") == "b1")["match_probability"]
            >= settings.thresholds.upper).all()
    deduplicated, _ = identities(link_only=False)
    assert partition_of(owner) == partition_of(deduplicated)


def partition_of(owner: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record, identity in owner.items():
        groups.setdefault(identity, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def test_comparisons_no_pair_across_inputs_could_make_are_missing_within_one_input() -> None:
    """An address only one input has: nothing was learned of it, and within that input a
    rare shared address would otherwise weigh as strong evidence (its term frequency)."""
    linker = Linker(load_preset("msix"))
    columns = [c.gamma_column for c in linker.comparisons]
    levels = {c: [0, -1, 2] for c in columns} | {"gamma_parents": [-1, -1, -1],
                                                 "gamma_birth_place": [-1, 0, -1]}
    gammas = pl.DataFrame(levels, schema=dict.fromkeys(columns, pl.Int8))
    assert linker.unshared_comparisons(gammas) == ["gamma_parents"]
    assert linker.unshared_comparisons(gammas.head(0)) == columns
