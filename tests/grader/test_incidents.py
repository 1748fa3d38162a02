"""The grading incidents: secret per course, several, and unlike the student's own."""

from __future__ import annotations

from wt06.foundation import paths
from wt06.incident.scenario import ScenarioParams, load_scenario
from wt06_grading.definition import incidents

FINGERPRINTS = ("freeze_day", "first_run_number", "full_runs", "orders", "first_day")


def _specs(tmp_path, secret, monkeypatch):
    monkeypatch.setenv(incidents.ENV_SECRET, secret)
    return incidents.grading_specs(tmp_path, paths.data_dir(), paths.project_dir())


def test_the_variants_come_from_the_course_secret(tmp_path, monkeypatch):
    one = _specs(tmp_path, "course A", monkeypatch)
    again = _specs(tmp_path, "course A", monkeypatch)
    other = _specs(tmp_path, "course B", monkeypatch)
    assert one == again
    assert [s.params for s in one if s.params] != [s.params for s in other if s.params]
    assert one[0].story == incidents.CANONICAL and one[0].params is None
    assert len(one) >= 4 and len({s.id for s in one}) == len(one)


def test_each_variant_differs_from_the_students_incident_in_what_a_query_could_see(tmp_path, monkeypatch):
    canonical = load_scenario().params
    graded = [s for s in _specs(tmp_path, "course A", monkeypatch) if s.story in incidents.VARIANTS]
    assert len(graded) == sum(incidents.VARIANTS.values())
    for spec in graded:
        variant = ScenarioParams.from_json(spec.params)
        same = [f for f in FINGERPRINTS if getattr(variant, f) == getattr(canonical, f)]
        assert len(same) <= 1, f"{spec.id} shares {same} with the course's incident"


def test_a_secret_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv(incidents.ENV_SECRET, raising=False)
    first = incidents.course_secret(tmp_path)
    assert incidents.course_secret(tmp_path) == first and len(first) >= 32
    secret_file = tmp_path / ".wt06" / "secret"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
