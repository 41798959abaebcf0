"""PySpark imported, or one clear reason why not: a missing extra, a missing Java runtime, a master
that cannot be reached."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from accountrules.errors import EngineUnavailableError
from accountrules.io.optional import require


class SparkUnavailableError(EngineUnavailableError):
    """Spark cannot run here: no Java runtime, or the master cannot be reached."""


def require_spark(purpose: str) -> ModuleType:
    """``pyspark``, or :class:`~accountrules.errors.MissingDependencyError` naming the ``spark`` extra."""
    require("pyarrow", purpose, "spark")
    require("numpy", purpose, "spark")
    return require("pyspark", purpose, "spark")


def java_home() -> str | None:
    """Where a Java runtime is: ``JAVA_HOME`` when it holds ``bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return home
    java = shutil.which("java")
    return str(Path(java).resolve().parent.parent) if java else None


def worker_python() -> None:
    """Make Spark's Python workers run this interpreter (with accountrules and its extras) unless set."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def _check_reachable(master: str, timeout: float = 5.0) -> None:
    """A standalone master (``spark://host:port[,host:port]``) that accepts no connection fails now:
    Spark itself retries for about two minutes and then reports it obscurely."""
    if not master.startswith("spark://"):
        return
    for hostport in master[len("spark://"):].split(","):
        host, _, port = hostport.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError):
            continue
    raise SparkUnavailableError(f"cannot reach the Spark master {master!r} (no connection within {timeout:g} s)")


def start_session(master: str, app_name: str = "accountrules", conf: dict[str, str] | None = None) -> Any:
    """A SparkSession on ``master``; :class:`SparkUnavailableError` without Java or when the master
    cannot be reached, :class:`~accountrules.errors.MissingDependencyError` without the extra."""
    require_spark(f"running on Spark ({master})")
    if java_home() is None:
        raise SparkUnavailableError("Spark needs a Java runtime (17 or newer): none found on PATH or in JAVA_HOME; "
                                    "install one, e.g. apt-get install default-jre-headless")
    _check_reachable(master)
    worker_python()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    # the UI and its port are of no use to a batch job and clash when two runs share a machine
    settings = {"spark.ui.enabled": "false", "spark.sql.execution.arrow.pyspark.enabled": "true"}
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        session.range(1).count()  # a master that accepts no application fails here, not in the first job
    except Exception as e:  # noqa: BLE001 - py4j and Spark raise many kinds; all mean "cannot start"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SparkUnavailableError(f"cannot start Spark on master {master!r}: {first}") from e
    return session


__all__ = ["SparkUnavailableError", "java_home", "require_spark", "start_session", "worker_python"]
