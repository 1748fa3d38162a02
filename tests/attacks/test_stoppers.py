"""The four answers that once stopped a whole batch (issue 8, item 2).

An unclosed quote in `%%sql --save`, a 3 MB query, an unhashable literal and a 100k-term
expression as the scheduler command. Each had a class of its own; they are graded in the
main batch now, each answer judged on its own rows.
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["stoppers", "stoppers05"]
