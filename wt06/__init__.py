"""The course package of WT-06 "The Data Is Stale".

Modules, one job each, in layers: each imports only its own layer and those below it
(tests/test_architecture.py). At the root: the modules the course's notebooks import
(those names are the students' API: a notebook saved against an earlier release still
runs) and the commands; the machinery behind them is in a folder per layer.

At the root, what the notebooks import:

* ``notebook``: ``start()``, a notebook's setup in one call;
* ``settings``: the names everything shares (settings variables, telemetry, placeholders);
* ``errors``: the course's exceptions, each a sentence for the student;
* ``story``: the incident's Slack thread, written from the data;
* ``project``: the dbt project's settings (SLA variable), the dashboard exposure, the DAG;
* ``incidents``: the public incidents (practice, drills): inputs, warehouses, expected results;
* ``plots``: the charts;
* the course's judging logic (the notebooks' visible checks; the grader calls the same):
  ``freshness`` (``dbt source freshness`` replayed over an incident, and judged),
  ``singular_test`` (a freshness test in many warehouse states), ``monitor`` (a monitor's
  rules replayed over incidents, against the reference's), ``orchestrator`` (the scheduled
  job's history, and the guard on production jobs);
* ``cli`` (``python -m wt06``) and ``publish`` (the public incidents' expected results,
  from the instructor notebooks; called by ``wt06-grade release`` with the questions it read).

``foundation/``: ``paths`` (where the data, dbt project, warehouses and work folders are;
overridable), ``tables`` (the raw tables' columns and keys), ``results`` (query results
as JSON, and the one comparison of two results).

``incident/``: ``scenario`` (an incident of a story, the canonical one or a variant, as
CSVs), ``clock`` (the story's as-of timestamp, the one "now" every check reads),
``warehouse`` (connections, the warehouse's clock, lock errors, the dbt audit log),
``ingest`` (the loader that lands raw CSVs, checking every value), ``workcopy`` (copies of
a dbt project or a warehouse).

``pipeline/``: ``dbt_runner`` (dbt in-process against a warehouse, one shared parse, every
run recorded), ``build`` (an incident replayed with real dbt commands into a new warehouse).

``lab/``, the notebook runtime behind ``start()``: ``session`` (``course``, a notebook's
working copy and its tools), ``assertions`` (the visible checks' building blocks),
``jupysql_setup`` (``%%sql`` on the notebook's connection), ``magics``
(``%%project_file``, leftover placeholders), ``display`` (readable errors, computed prose,
chart settings).
"""

import sys

__version__ = "1.0.0"

# jsonschema (imported by dbt, nbformat and nbgrader) imports rfc3987_syntax whenever it is
# installed (jupyter-events pulls it in), to check an "iri" string format nothing here
# uses; building its grammar costs ~0.8 s per process. A None entry in sys.modules makes
# that import fail, which jsonschema expects and ignores; it holds whatever pip installs.
sys.modules.setdefault("rfc3987_syntax", None)
