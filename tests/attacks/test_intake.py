"""Intake: regular files only (issue 8, item 3).

Notebooks that are symlinks (to the instructor's sources, /etc/passwd, a classmate, the
whole folder), hard links, a FIFO, a device; each of the last three in a class of its
own, since today they can hang or blow up the whole batch.
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["intake"]
