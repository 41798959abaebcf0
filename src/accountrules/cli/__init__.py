"""The ``accountrules`` command line: one module per command, shared argument types in :mod:`.args`."""

from accountrules.cli.app import OPTIONAL_MODULES, build_parser, console, log_level, main, missing_module_message

__all__ = ["OPTIONAL_MODULES", "build_parser", "console", "log_level", "main", "missing_module_message"]
