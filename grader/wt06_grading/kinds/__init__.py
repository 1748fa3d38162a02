"""The kinds of hidden check, by name: one module each (see base.py for the interface)."""

from __future__ import annotations

from .base import Kind
from .command import Command
from .monitor_rules import MonitorRules
from .query import Query
from .selector import Selector
from .singular_test import SingularTest
from .source_freshness import SourceFreshness
from .value import Value

KINDS: dict[str, Kind] = {kind.name: kind() for kind in (Query, Value, Selector, Command, SourceFreshness,
                                                          SingularTest, MonitorRules)}
