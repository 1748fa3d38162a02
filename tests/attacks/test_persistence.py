"""Persistence: nothing a notebook writes is trusted by a later notebook, student or the grader.

Notebook 01 rewrites kernel specs, plants IPython startup files, nbgrader/Jupyter config,
HOME dotfiles and shadowing modules, or patches libraries in memory; notebook 03
(hard-coded) is where the payload would pay off (issue 8, items 4 and 8).
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["persistence"]
