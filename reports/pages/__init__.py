"""What the dashboard shows, without the web: each page's numbers as plain, JSON-ready dicts,
read through the analyst queries of reports/queries.py (the same layer as `haochaping report`).
One module per page; ``reading``, ``counts`` and ``names`` are what the pages share."""

from reports.pages.alerts import alerts_page
from reports.pages.coverage import coverage_page
from reports.pages.department import department_page
from reports.pages.followup import followup_page
from reports.pages.overview import overview
from reports.pages.public import public_page
from reports.pages.rankings import DEFAULT_ORDER, RANKED_DIMENSIONS, SORTABLE, ranking
from reports.pages.reading import Execute, Reader, range_row

__all__ = [
    "DEFAULT_ORDER",
    "RANKED_DIMENSIONS",
    "SORTABLE",
    "Execute",
    "Reader",
    "alerts_page",
    "coverage_page",
    "department_page",
    "followup_page",
    "overview",
    "public_page",
    "range_row",
    "ranking",
]
