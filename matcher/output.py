"""Writing a batch run's results: identities, near matches, errors, pairs and the summary."""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import polars as pl

from matcher.ingest import IngestResult
from matcher.pipeline import LinkResult
from matcher.settings import Settings

NEAR_MATCH_LEADING = ["record_id_l", "record_id_r", "match_probability", "match_weight"]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def near_match_columns(frame: pl.DataFrame) -> list[str]:
    contributions = [c for c in frame.columns if c.startswith("mw_")]
    return [*NEAR_MATCH_LEADING, *contributions, "possible_multiple_birth", "reason"]


def write_outputs(out: Path, result: LinkResult, ingest: IngestResult, settings: Settings,
                  seconds: dict[str, float], *, write_pairs: bool = False) -> dict[str, Any]:
    """Write every output file; return the summary that went to summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    result.identities.write_csv(out / "identities.csv")
    near = result.near_matches
    near.select(near_match_columns(near)).write_csv(out / "near_matches.csv")
    ingest.errors.write_csv(out / "errors.csv")
    if write_pairs:
        # `blocked`: blocking proposed the pair (the others are pairs inside small linked
        # components, scored before clustering)
        result.pairs.select(*NEAR_MATCH_LEADING,
                            (pl.col("rule") < len(result.blocking.rules)).alias("blocked")
                            ).write_parquet(out / "pairs.parquet")
    pairs_scored = result.blocking.candidates + result.cluster_stats.get("component_pairs", 0)
    scoring_seconds = sum(seconds.get(s, 0.0) for s in ("compare", "score", "complete"))
    summary = {
        "preset": settings.name,
        "records_in": ingest.rows_in,
        "records_accepted": len(result.identities),
        "records_rejected": ingest.rejected_rows,
        "error_lines": len(ingest.errors),
        "identities": result.identities["identity_id"].n_unique(),
        "near_matches": len(near),
        "possible_multiple_births": int(near["possible_multiple_birth"].sum()) if len(near) else 0,
        "thresholds": {"upper": settings.thresholds.upper, "lower": settings.thresholds.lower},
        "blocking": result.blocking.as_dict(),
        "clustering": result.cluster_stats,
        "pairs_scored": pairs_scored,
        "pairs_scored_per_second": pairs_scored / scoring_seconds if scoring_seconds else None,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
