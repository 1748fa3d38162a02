"""dbt answers: a freshness test judged on many states; a command that stays a command.

A stateful and a random singular test, a test that leaks env_var() through its error,
and scheduler commands with run-operation, --args, --target-path/--log-path,
--profiles-dir and --project-dir (issue 8, items 4 and 7). Graded on notebook 05.
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["dbt"]
