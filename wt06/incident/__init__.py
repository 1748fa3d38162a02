"""The incident: a story's data (scenario.py), its as-of clock (clock.py), the warehouse and
its loader (warehouse.py, ingest.py), and working copies of a project or warehouse (workcopy.py)."""
