"""Foundation: where things live (paths.py), the raw tables' columns and keys (tables.py),
query results as JSON and their one comparison (results.py)."""
