"""Fingerprinting the grading incidents (issue 8, item 6).

An oracle query recognises which incident it runs on and answers with literals, for every
incident a student can build with the public generator. Graded on notebooks 01 and 03.
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["oracle"]
