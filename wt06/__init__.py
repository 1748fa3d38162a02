"""The course package of WT-06 "The Data Is Stale".

Modules, one job each:

* ``paths``: where the data, dbt project, warehouse and work folders are (overridable);
* ``clock``: the story's as-of timestamp, the one "now" every check reads;
* ``tables``: the raw tables' columns and keys;
* ``scenario``: generate an incident (the canonical one or a variant) as CSV files;
* ``ingest``: the loader that lands raw CSVs in the warehouse, checking every value;
* ``dbt_runner``: run dbt in-process against a warehouse and record the run;
* ``warehouse``: connections with the ``as_of()`` macro and clear lock errors;
* ``build``: replay the incident with real dbt commands into a new warehouse.
"""

import sys

__version__ = "1.0.0"

# jsonschema (imported by dbt, nbformat and nbgrader) imports rfc3987_syntax whenever it is
# installed (jupyter-events pulls it in), to check an "iri" string format nothing here
# uses; building its grammar costs ~0.8 s per process. A None entry in sys.modules makes
# that import fail, which jsonschema expects and ignores; it holds whatever pip installs.
sys.modules.setdefault("rfc3987_syntax", None)
