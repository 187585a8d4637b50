"""The analyst queries the CLI runs; tests run each on ClickHouse 18.16 and on chdb."""

from __future__ import annotations

# Ranking of one dimension over the day windows since a date, least satisfied first.
# `min_total` keeps a key with three evaluations, one of them bad, off the top of the list.
RANKING = """
SELECT
    key,
    sum(total) AS evaluations,
    sum(good) AS good_reviews,
    sum(bad) AS bad_reviews,
    round(good_reviews / evaluations, 4) AS satisfaction_rate,
    round(bad_reviews / evaluations, 4) AS bad_rate,
    round(sum(level_1 + 2 * level_2 + 3 * level_3 + 4 * level_4 + 5 * level_5) / evaluations, 2)
        AS mean_level
FROM satisfaction
WHERE dimension = %(dimension)s AND window = '1d' AND window_start >= toDateTime(%(since)s)
GROUP BY key
HAVING evaluations >= %(min_total)s
ORDER BY satisfaction_rate ASC, bad_rate DESC, evaluations DESC
LIMIT %(limit)s
"""

# Names of departments and service items, from the evaluations themselves.
NAMES = """
SELECT department_code, any(department_name), service_code, any(service_name)
FROM ratings
WHERE evaluated_at >= toDateTime(%(since)s)
GROUP BY department_code, service_code
"""

LANDED_BY_CHANNEL_AND_DEPARTMENT = """
SELECT channel, department_code, any(department_name) AS department_name,
       count() AS evaluations, sum(level <= 2) AS bad_reviews
FROM ratings FINAL
GROUP BY channel, department_code
ORDER BY evaluations DESC
LIMIT %(limit)s
"""

REJECTED_BY_REASON = """
SELECT reason, count() AS messages
FROM rejected FINAL
GROUP BY reason
ORDER BY messages DESC
"""
