"""One submission on a worker, stage by stage (worker.GradingWorker runs them).

intake.py (read and parse) -> assemble.py (the released test cells back in place) ->
execution.py (each notebook in the warm sandbox, or in stock Jupyter) -> checks.py (the
hidden checks: one checker job, verdicts) -> scoring.py (rows). Every sandboxed job goes
through jobs.JobClient.
"""
