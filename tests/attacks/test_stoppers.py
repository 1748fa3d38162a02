"""The four answers that stopped a whole batch, each in a class of its own (issue 8, item 2).

An unclosed quote in `%%sql --save`, a 3 MB query, an unhashable literal and a 100k-term
expression as the scheduler command.
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["stoppers", "stoppers05"]
