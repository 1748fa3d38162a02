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

__version__ = "1.0.0"
