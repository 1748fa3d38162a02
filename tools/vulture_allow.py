"""Names ``tools/dead_code.py`` must not report, each with who calls it.

Not a module anyone imports: vulture reads it and counts every name below as used.
Add a name here only with the caller that vulture cannot see.
"""
# ruff: noqa: B018, F821

# Called by a framework, by name or by protocol
RefuseAutograde, RefuseFeedback, UseWt06Grade  # nbgrader, from grader/nbgrader_config.py (strings)
idempotent, setup, teardown  # Dask's WorkerPlugin protocol (cluster.py's plugin)
run_job, probe_job, answers_json  # job entry points named in strings (zygote.ENTRY_POINTS, execution.py)
writable, clear_output, start_displayhook, write_output_prompt, write_format_data, finish_displayhook  # IPython
publish  # IPython's DisplayPublisher protocol (the sandbox runner's publisher: display() calls it)
enable_gui, gui, showtraceback_orig  # IPython's shell attributes, replaced in the sandbox's runner
_render_traceback_  # IPython: how a course error shows in a notebook (wt06/errors.py)
_fd, _pid  # multiprocessing's resource tracker, reset in a forked job (zygote.py)
selected  # orchestrator.JobCheck's field, filled positionally
imported  # roster.Roster's field, filled positionally and written to roster.json (asdict)

# The tests' ways in: small public helpers the tests use as oracles or probes
binder_url  # export.py: the README's Binder link is checked against it (tests/test_binder.py)
for_notebook  # questions.CourseQuestions: tests/grader/test_assemble.py
solution_only_lines  # reference.py: the secrecy checks (tests/test_export.py, tests/attacks/checks.py)
project_files  # reference.py: the shared fixtures' cache key (tests/conftest.py)
DRILLS  # incidents.py: tests/test_scenario.py
job_at  # orchestrator.py: the job history read at a moment (tests/test_orchestrator.py)
from_rows  # results.py: tests/test_results.py
scenario_gaps  # scenario.py: tests/test_scenario.py
mixed_class  # rehearsal.py: the scale test's generated class (tests/test_scale.py)
