"""The kinds of hidden check, by name: one module each (see base.py for the interface)."""

from __future__ import annotations

from wt06_grading.kinds.base import Kind
from wt06_grading.kinds.command import Command
from wt06_grading.kinds.monitor_rules import MonitorRules
from wt06_grading.kinds.query import Query
from wt06_grading.kinds.selector import Selector
from wt06_grading.kinds.singular_test import SingularTest
from wt06_grading.kinds.source_freshness import SourceFreshness
from wt06_grading.kinds.value import Value

KINDS: dict[str, Kind] = {kind.name: kind() for kind in (Query, Value, Selector, Command, SourceFreshness,
                                                          SingularTest, MonitorRules)}
