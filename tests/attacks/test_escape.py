"""Escape: reading what is secret, writing what is not the submission's.

Solutions and hidden tests, classmates' submissions, the gradebook (with two workers, so
private gradebook copies are in play), /proc/<pid>/root, shared caches and warehouses,
environment secrets, active HTML in the feedback, the loopback network (issue 8, item 4).
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["escape"]
