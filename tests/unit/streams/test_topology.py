"""Which group's commits say how far ratings.raw is processed."""

from __future__ import annotations

from runtime.settings import Settings
from streams.topology import raw_committer


def test_the_direct_reader_commits_ratings_raw_in_a_group_of_its_own() -> None:
    settings = Settings(app_id="hcp", ingest_reader="direct")
    assert raw_committer(settings) == "hcp-raw"


def test_faust_reading_ratings_raw_commits_in_the_apps_group() -> None:
    settings = Settings(app_id="hcp", ingest_reader="faust")
    assert raw_committer(settings) == "hcp"
