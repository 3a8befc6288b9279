"""Starting a Spark session for the batch engine: Java, Python and modest memory settings.

PySpark is optional (`pip install 'studentlink[spark]'`); everything here fails with a
`SparkUnavailableError` that says what is missing instead of an ImportError deep in a stack.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.errors import StudentlinkError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"


class SparkUnavailableError(StudentlinkError):
    """PySpark or a Java runtime is missing, or Spark would not start."""


@dataclass(frozen=True)
class SparkOptions:
    """How the engine runs on Spark (sizes are per partition unless said otherwise).

    `records_per_partition` sizes the input and feature partitions; `shuffle_partitions` the
    joins (None: Spark's adaptive execution picks, starting from 4 per core); `skew_chunk` is
    the largest slice of one blocking block a single task joins (bigger blocks are salted
    across tasks); `em_max_pairs` caps the pairs per EM session collected to the driver (above
    it the session is a seeded random sample of that many pairs).
    """

    master: str = DEFAULT_MASTER
    driver_memory: str = "4g"
    executor_memory: str | None = None
    shuffle_partitions: int | None = None
    records_per_partition: int = 100_000
    arrow_batch_rows: int = 20_000
    skew_chunk: int = 250
    em_max_pairs: int = 20_000_000
    workdir: Path | None = None
    """Staging folder (driver-written inputs, collected results); shared storage on a cluster."""
    conf: dict[str, str] = field(default_factory=dict)
    """Any further Spark settings, passed through as given."""


ENV_PREFIX = "STUDENTLINK_SPARK_"


def options_from_env(master: str = DEFAULT_MASTER) -> SparkOptions:
    """SparkOptions for the CLI, adjustable through the environment:
    STUDENTLINK_SPARK_DRIVER_MEMORY, _EXECUTOR_MEMORY, _SHUFFLE_PARTITIONS,
    _RECORDS_PER_PARTITION, _SKEW_CHUNK, _EM_MAX_PAIRS, _WORKDIR, and _CONF with any other
    Spark settings as 'key=value;key=value'."""
    env = {k[len(ENV_PREFIX):].lower(): v for k, v in os.environ.items()
           if k.startswith(ENV_PREFIX) and v}
    problems = []

    def number(name: str, default: int | None) -> int | None:
        if name not in env:
            return default
        if not env[name].isdigit() or int(env[name]) < 1:
            problems.append(f"'{ENV_PREFIX}{name.upper()}' must be a positive integer; "
                            f"got {env[name]!r}")
            return default
        return int(env[name])

    conf = {}
    for item in filter(None, env.get("conf", "").split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            problems.append(f"'{ENV_PREFIX}CONF' must be 'key=value;...'; got {item!r}")
            continue
        conf[key.strip()] = value.strip()
    base = SparkOptions()
    options = SparkOptions(
        master=master, driver_memory=env.get("driver_memory", base.driver_memory),
        executor_memory=env.get("executor_memory"),
        shuffle_partitions=number("shuffle_partitions", None),
        records_per_partition=number("records_per_partition", base.records_per_partition)
        or base.records_per_partition,
        skew_chunk=number("skew_chunk", base.skew_chunk) or base.skew_chunk,
        em_max_pairs=number("em_max_pairs", base.em_max_pairs) or base.em_max_pairs,
        workdir=Path(env["workdir"]) if "workdir" in env else None, conf=conf)
    if problems:
        raise SparkUnavailableError("; ".join(problems))
    return options


def java_home() -> str | None:
    """JAVA_HOME, else the JDK that the `java` on PATH belongs to."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        return None
    return str(Path(java).resolve().parent.parent)


def spark_unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here, or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed; install it with pip install 'studentlink[spark]'"
    home = java_home()
    if home is None or not (Path(home) / "bin" / "java").exists():
        return "no Java runtime: install Java 17+ or set JAVA_HOME"
    return None


def is_local(master: str) -> bool:
    return master.startswith("local")


def local_cores(master: str) -> int:
    """Cores a local master uses (`local`, `local[2]`, `local[*]`)."""
    if master in ("local", "local[1]"):
        return 1
    inner = master[master.find("[") + 1:master.find("]")] if "[" in master else "1"
    inner = inner.split(",")[0]
    if inner == "*":
        return os.cpu_count() or 1
    return int(inner) if inner.isdigit() else 1


def active_session() -> SparkSession | None:
    """The session already running in this process (a notebook's, a test's), if any."""
    if spark_unavailable_reason() is not None:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def start_session(options: SparkOptions, local_dir: Path) -> SparkSession:
    """A Spark session for one linkage run (an existing active session is reused as is: its
    master and memory settings stay what they are)."""
    reason = spark_unavailable_reason()
    if reason:
        raise SparkUnavailableError(f"'--engine spark' needs PySpark and Java: {reason}")
    from pyspark.sql import SparkSession

    home = java_home()
    if home and not os.environ.get("JAVA_HOME"):
        os.environ["JAVA_HOME"] = home
    cores = local_cores(options.master) if is_local(options.master) else 8
    shuffle = options.shuffle_partitions or max(4, 4 * cores)
    builder = (SparkSession.builder.master(options.master).appName("studentlink-link")
               .config("spark.driver.memory", options.driver_memory)
               .config("spark.sql.shuffle.partitions", str(shuffle))
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.adaptive.skewJoin.enabled", "true")
               # the pair frames are narrow before their features are joined on: coalescing
               # by input size would leave the expensive Python work to one task
               .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch",
                       str(options.arrow_batch_rows))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.showConsoleProgress", "false")
               # plans over wide frames print to megabytes; the driver keeps them for the UI
               .config("spark.sql.maxPlanStringLength", "20000")
               .config("spark.sql.debug.maxToStringFields", "200")
               .config("spark.local.dir", str(local_dir)))
    if options.executor_memory:
        builder = builder.config("spark.executor.memory", options.executor_memory)
    if is_local(options.master):
        # the workers run this interpreter, which has studentlink installed (the environment
        # variable is what the local worker daemon actually reads)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = (builder.config("spark.pyspark.python", sys.executable)
                   .config("spark.pyspark.driver.python", sys.executable)
                   .config("spark.ui.enabled", "false"))
    for key, value in options.conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j/JVM start-up failures come in many types
        raise SparkUnavailableError(f"Spark did not start on {options.master!r}: {exc}") from None
    session.sparkContext.setLogLevel("WARN")
    return session
