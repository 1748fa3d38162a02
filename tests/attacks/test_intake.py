"""Intake: regular files only (issue 8, item 3).

Notebooks that are symlinks (to the instructor's sources, /etc/passwd, a classmate, the
whole folder), hard links, a FIFO, a device. The last three once hung or blew up the whole
batch; the driver now refuses them without opening them, so they are graded with the rest
of the main batch (were one to hang it again, the whole batch fails at its deadline).
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["intake"]
