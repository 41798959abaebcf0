"""pytest plugin: collects policy case files (being written; see accountrules.testing)."""
