"""The course package of WT-06 "The Data Is Stale".

Modules, one job each.

Settings and incidents:

* ``settings``: the names everything shares (settings variables, telemetry, placeholders);
* ``paths``: where the data, dbt project, warehouses and work folders are (overridable);
* ``clock``: the story's as-of timestamp, the one "now" every check reads;
* ``tables``: the raw tables' columns and keys;
* ``scenario``: generate an incident of a story (the canonical one or a variant) as CSVs;
* ``incidents``: the public incidents (practice, drills): inputs, warehouses, expected results;
* ``ingest``: the loader that lands raw CSVs in the warehouse, checking every value;
* ``build``: replay an incident with real dbt commands into a new warehouse;
* ``warehouse``: connections, the warehouse's clock, lock errors, the dbt audit log;
* ``dbt_runner``: run dbt in-process against a warehouse and record the run;
* ``project``: the dbt project's settings (SLA variable), the dashboard exposure, the DAG;
* ``workcopy``: copies of a dbt project or a warehouse.

The notebook runtime (``start()`` in ``notebook``):

* ``session``: ``course``, a notebook's working copy and its tools;
* ``assertions``: the visible checks' building blocks;
* ``jupysql_setup``: ``%%sql`` on the notebook's connection;
* ``magics``: ``%%project_file`` and leftover placeholders;
* ``display``: readable errors, computed prose, chart settings;
* ``story``: the incident's Slack thread, written from the data;
* ``plots``: the charts.

The course's judging logic (the notebooks' visible checks; the grader calls the same):

* ``results``: query results as JSON, and the one comparison of two results;
* ``freshness``: replay ``dbt source freshness`` over an incident, and judge it;
* ``singular_test``: run a freshness test in many warehouse states, and judge it;
* ``monitor``: replay a monitor's rules over incidents, against the reference's;
* ``orchestrator``: the scheduled job's history, and the guard on production jobs;
* ``publish``: the public incidents' expected results, from the instructor notebooks
  (called by ``wt06-grade release`` with the questions it read).
"""

import sys

__version__ = "1.0.0"

# jsonschema (imported by dbt, nbformat and nbgrader) imports rfc3987_syntax whenever it is
# installed (jupyter-events pulls it in), to check an "iri" string format nothing here
# uses; building its grammar costs ~0.8 s per process. A None entry in sys.modules makes
# that import fail, which jsonschema expects and ignores; it holds whatever pip installs.
sys.modules.setdefault("rfc3987_syntax", None)
