"""Resources: bounded memory, processes, output and time; the grader out of reach.

6 GiB, sleeping forever (with and without ignoring interrupts), 100 MB of output, a dying
kernel, a daemon left behind; a fork bomb, killing the grader and kill -9 -1 each in a
class of their own (issue 8, item 5).
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["resources"]
