"""Moving polars frames in and out of Spark through Arrow.

`map_polars` runs a polars function over every Arrow batch of a Spark frame (`mapInArrow`):
the matching code itself runs unchanged on the workers. Schemas are spelled once, in polars,
and translated: Spark has no unsigned integers, so those widen to the next signed type.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

PolarsFn = Callable[[pl.DataFrame], pl.DataFrame]

_WIDER: dict[type[pl.DataType], pl.DataType] = {
    pl.UInt8: pl.Int16(), pl.UInt16: pl.Int32(), pl.UInt32: pl.Int64(), pl.UInt64: pl.Int64(),
    pl.Null: pl.String(), pl.Categorical: pl.String(), pl.Enum: pl.String(),
}


def _inner(dtype: pl.List) -> pl.DataType:
    inner = dtype.inner
    return inner if isinstance(inner, pl.DataType) else inner()


def spark_dtype(dtype: pl.DataType) -> pl.DataType:
    """The polars type a column has once it went through Spark."""
    if isinstance(dtype, pl.List):
        return pl.List(spark_dtype(_inner(dtype)))
    return _WIDER.get(dtype.base_type(), dtype)


def spark_schema_of(schema: pl.Schema) -> pl.Schema:
    return pl.Schema({name: spark_dtype(dtype) for name, dtype in schema.items()})


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow_type(_inner(dtype)))
    simple: dict[type[pl.DataType], pa.DataType] = {
        pl.String: pa.string(), pl.Boolean: pa.bool_(), pl.Int8: pa.int8(),
        pl.Int16: pa.int16(), pl.Int32: pa.int32(), pl.Int64: pa.int64(),
        pl.Float32: pa.float32(), pl.Float64: pa.float64(), pl.Date: pa.date32()}
    base = dtype.base_type()
    if base not in simple:
        raise TypeError(f"no Spark type for polars type {dtype}")
    return simple[base]


def arrow_schema(schema: pl.Schema) -> pa.Schema:
    return pa.schema([(name, _arrow_type(dtype)) for name, dtype in schema.items()])


def _spark_type(dtype: pl.DataType) -> DataType:
    from pyspark.sql import types as T

    if isinstance(dtype, pl.List):
        return T.ArrayType(_spark_type(_inner(dtype)))
    simple: dict[type[pl.DataType], DataType] = {
        pl.String: T.StringType(), pl.Boolean: T.BooleanType(), pl.Int8: T.ByteType(),
        pl.Int16: T.ShortType(), pl.Int32: T.IntegerType(), pl.Int64: T.LongType(),
        pl.Float32: T.FloatType(), pl.Float64: T.DoubleType(), pl.Date: T.DateType()}
    return simple[dtype.base_type()]


def spark_struct(schema: pl.Schema) -> StructType:
    from pyspark.sql import types as T

    return T.StructType([T.StructField(name, _spark_type(dtype), True)
                         for name, dtype in schema.items()])


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Exactly these columns with these types, in this order."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def to_batches(frame: pl.DataFrame, schema: pl.Schema) -> list[pa.RecordBatch]:
    table = conform(frame, schema).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(arrow_schema(schema)).to_batches()


def _run_batches(batches: Iterator[pa.RecordBatch], fn: PolarsFn, schema: pl.Schema
                 ) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if batch.num_rows == 0:
            continue
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield from to_batches(fn(frame), schema)


def map_polars(df: DataFrame, fn: PolarsFn, schema: pl.Schema) -> DataFrame:
    """`fn` applied to every Arrow batch of `df` (row-local work only); output `schema`.

    `fn` must be picklable (a module-level function or a `functools.partial` of one).
    """
    out = spark_schema_of(schema)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _run_batches(batches, fn, out)

    return df.mapInArrow(run, spark_struct(out))


class Staging:
    """A folder that the driver and the executors both read: frames go both ways as Parquet."""

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / f"{name}-{uuid.uuid4().hex[:8]}"

    def upload(self, frame: pl.DataFrame, name: str, partitions: int = 1) -> DataFrame:
        """A driver frame as a Spark frame in `partitions` partitions (Spark would pack
        small files into one split, so the frame is spread explicitly)."""
        folder = self._path(name)
        folder.mkdir(parents=True)
        schema = spark_schema_of(frame.schema)
        frame = conform(frame, schema)
        rows = max(1, -(-len(frame) // max(partitions, 1)))
        for index in range(max(1, -(-len(frame) // rows))):
            part = frame.slice(index * rows, rows)
            part.write_parquet(folder / f"part-{index:05d}.parquet", statistics=False)
        df = self.spark.read.schema(spark_struct(schema)).parquet(str(folder))
        return df.repartition(partitions) if partitions > 1 else df

    def download(self, df: DataFrame, name: str) -> pl.DataFrame:
        """A Spark frame on the driver, through Parquet (no collect through the JVM driver)."""
        folder = self._path(name)
        df.write.mode("overwrite").parquet(str(folder))
        files = sorted(folder.glob("*.parquet"))
        if not files:
            return _empty(df)
        return pl.read_parquet(files)


def _empty(df: DataFrame) -> pl.DataFrame:
    table = df.limit(0).toArrow()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def collect(df: DataFrame) -> pl.DataFrame:
    """A small Spark frame on the driver (Arrow)."""
    frame = pl.from_arrow(df.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame
