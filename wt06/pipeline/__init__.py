"""The dbt pipeline: dbt in-process with one shared parse (dbt_runner.py), and an incident replayed
with real dbt commands into a warehouse (build.py)."""
