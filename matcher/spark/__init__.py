"""Batch linkage on Apache Spark (optional: `pip install 'studentlink[spark]'`).

`link_with_spark` reads, links and returns what the default engine returns; see
docs/spark.md for running it on a cluster.
"""

from matcher.spark.engine import SparkLinker, link_with_spark
from matcher.spark.session import SparkOptions, SparkUnavailableError, spark_unavailable_reason

__all__ = ["SparkLinker", "SparkOptions", "SparkUnavailableError", "link_with_spark",
           "spark_unavailable_reason"]
