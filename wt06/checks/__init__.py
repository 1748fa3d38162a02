"""The course's judging logic, the same for a notebook's visible checks and the grader's hidden
ones: source freshness (freshness.py), a freshness test over many warehouse states
(singular_test.py), a monitor's rules replayed (monitor.py), the visible checks' building
blocks (assertions.py)."""
