"""The names every part of the course shares: settings variables, telemetry, placeholders.

One home for each string that more than one module (or the grader) must spell the same
way. Other modules import these names instead of typing the strings.
"""

from __future__ import annotations

import os

# ----- where things are, and the clock (read at call time; see paths.py, clock.py) -----
ENV_DATA_DIR = "WT06_DATA_DIR"  # the CSVs, landing folders and scenario.json
ENV_PROJECT_DIR = "WT06_PROJECT_DIR"  # the dbt project
ENV_WAREHOUSE = "WT06_WAREHOUSE"  # the built incident warehouse
ENV_WORK_DIR = "WT06_WORK_DIR"  # working copies, dbt's target and log folders
ENV_AS_OF = "WT06_AS_OF"  # the story's clock
ENV_INCIDENTS_DIR = "WT06_INCIDENTS_DIR"  # the public incidents' inputs (grading jobs mount a copy)

# ----- no usage reporting: dbt, jupysql (ploomber) and anything honouring DO_NOT_TRACK -----
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "PLOOMBER_STATS_ENABLED": "false",
    "PLOOMBER_VERSION_CHECK_DISABLED": "true",
}


def telemetry_off() -> None:
    """Turn usage reporting off for this process (unless the user chose otherwise).

    Must run before dbt or jupysql is imported: both read these settings at import.
    """
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


# ----- what an answer cell holds before the student writes in it ----------------------
NO_ANSWER = "no answer yet"  # every placeholder says this; course errors quote it

# The placeholder (stub) nbgrader leaves in an answer cell, in the cell's own language.
PLACEHOLDERS = {
    "python": f'# YOUR CODE HERE\nraise NotImplementedError("{NO_ANSWER}: replace this line with your answer")',
    "sql": f"-- YOUR ANSWER HERE\nselect error('{NO_ANSWER}: write your query here')",
    "yaml": f"# YOUR ANSWER HERE ({NO_ANSWER})",
    "text": f"YOUR ANSWER HERE ({NO_ANSWER})",
}
PLACEHOLDER_MARKERS = ("YOUR ANSWER HERE", "YOUR CODE HERE", NO_ANSWER)


def is_placeholder_line(line: str) -> bool:
    """True for a line of a placeholder (stub) that a student may have left in a cell."""
    return any(marker in line for marker in PLACEHOLDER_MARKERS)

