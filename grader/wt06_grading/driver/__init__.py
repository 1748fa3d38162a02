"""The driver: one class of submissions across workers, and what it writes as results arrive.

engine.py (the loop), cluster.py (Dask: the workers' plugin, local workers or a cluster),
bundle.py (the course packed once for every worker), recording.py (each result into the
gradebook, autograded/ and feedback/), progress.py (what the instructor sees meanwhile).
"""
