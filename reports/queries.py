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

# ---- analyst queries over the views of migration 002 (docs/analyst-guide.md) -------------
# Dates are Shanghai calendar days ('YYYY-MM-DD' or a date); rates are recomputed from the
# summed counts (a mean of daily rates would weigh a quiet day like a busy one).

# 部门好评率排名, least satisfied first, over the days [from_day, to_day].
DEPARTMENT_RANKING = """
SELECT
    department_code,
    any(department_name) AS department_name,
    sum(total) AS evaluations,
    sum(good) AS good_reviews,
    sum(bad) AS bad_reviews,
    round(good_reviews / evaluations, 4) AS good_rate,
    round(bad_reviews / evaluations, 4) AS bad_rate,
    round(sum(level_1 + 2 * level_2 + 3 * level_3 + 4 * level_4 + 5 * level_5) / evaluations, 2)
        AS mean_level
FROM ranking_departments_daily
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
GROUP BY department_code
HAVING evaluations >= %(min_total)s
ORDER BY good_rate ASC, bad_rate DESC, evaluations DESC, department_code
LIMIT %(limit)s
"""

# 事项差评率排名, most bad reviews per evaluation first, over the days [from_day, to_day].
SERVICE_RANKING = """
SELECT
    service_code,
    any(service_name) AS service_name,
    any(department_code) AS department_code,
    sum(total) AS evaluations,
    sum(bad) AS bad_reviews,
    round(bad_reviews / evaluations, 4) AS bad_rate,
    round(sum(good) / evaluations, 4) AS good_rate
FROM ranking_services_daily
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
GROUP BY service_code
HAVING evaluations >= %(min_total)s
ORDER BY bad_rate DESC, evaluations DESC, service_code
LIMIT %(limit)s
"""

# Day-by-day numbers of one key of one dimension (department, service, channel, region).
DAILY_TREND = """
SELECT day, total, good, bad, round(good_rate, 4) AS good_rate, round(bad_rate, 4) AS bad_rate,
       round(mean_level, 2) AS mean_level
FROM satisfaction_daily
WHERE dimension = %(dimension)s AND key = %(key)s
  AND day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
ORDER BY day
"""

# Every key of one dimension in one month (month = any day of it).
MONTHLY_SUMMARY = """
SELECT key, department_name, service_name, total, good, bad,
       round(good_rate, 4) AS good_rate, round(bad_rate, 4) AS bad_rate,
       round(mean_level, 2) AS mean_level
FROM satisfaction_monthly
WHERE dimension = %(dimension)s AND month = toStartOfMonth(toDate(%(month)s))
ORDER BY total DESC, key
"""

# The review tags bad reviews carry most often, over the days [from_day, to_day].
TOP_BAD_REVIEW_TAGS = """
SELECT tag, any(tag_label) AS label, sum(bad_reviews) AS bad_reviews,
       uniqExact(department_code) AS departments
FROM bad_reviews_by_tag
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
GROUP BY tag
ORDER BY bad_reviews DESC, tag
LIMIT %(limit)s
"""

# Alerts still open, newest first.
OPEN_ALERTS = """
SELECT alert_id, dimension, key, opened_at, last_event_at, peak_bad, peak_total,
       round(max_score, 2) AS max_score
FROM alert_history
WHERE status = 'open'
ORDER BY opened_at DESC, alert_id
LIMIT %(limit)s
"""

# Late evaluations and rejected messages per day, over the days [from_day, to_day].
LATE_BY_CHANNEL = """
SELECT channel, sum(late_evaluations) AS late, sum(evaluations) AS evaluations,
       round(late / evaluations, 4) AS late_rate, max(max_delay_s) AS max_delay_s
FROM late_statistics
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
GROUP BY channel
ORDER BY late DESC, channel
"""

REJECTED_BY_DAY_AND_REASON = """
SELECT day, reason, sum(rejected) AS messages
FROM rejected_statistics
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
GROUP BY day, reason
ORDER BY day, messages DESC, reason
"""

RECENT_ALERTS = """
SELECT alert_id, status, opened_at, peak_bad, max_score
FROM alert_history
ORDER BY opened_at DESC
LIMIT %(limit)s
"""

# ---- problem discovery: `haochaping problems` (reports/themes.py) ----------------------
# The period is [from_ts, to_ts) in epoch seconds; `department` / `service` narrow it to one
# code ('' = all). 差评 = level ≤ 2. Samples are ordered by a hash of the evaluation id: an
# unbiased, repeatable sample (a bare LIMIT would read the sorting key's first departments).

# Evaluations and bad reviews per department and service item in the period.
PROBLEM_GROUPS = """
SELECT department_code, any(department_name) AS department_name,
       service_code, any(service_name) AS service_name,
       count() AS evaluations, sum(level <= 2) AS bad_reviews,
       sum(level <= 2 AND comment != '') AS bad_comments
FROM ratings FINAL
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND (%(department)s = '' OR department_code = %(department)s)
  AND (%(service)s = '' OR service_code = %(service)s)
GROUP BY department_code, service_code
ORDER BY bad_reviews DESC, department_code, service_code
"""

# The review tags of bad reviews per department and service item (a review counts once per
# tag it carries; reviews without tags are not counted here).
PROBLEM_BAD_TAGS = """
SELECT department_code, service_code, tag, count() AS bad_reviews
FROM ratings FINAL
ARRAY JOIN tags AS tag
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND level <= 2
  AND (%(department)s = '' OR department_code = %(department)s)
  AND (%(service)s = '' OR service_code = %(service)s)
GROUP BY department_code, service_code, tag
ORDER BY bad_reviews DESC, department_code, service_code, tag
"""

# The comments of bad reviews, at most `limit` (a repeatable sample when there are more).
PROBLEM_BAD_COMMENTS = """
SELECT department_code, department_name, service_code, service_name, comment
FROM ratings FINAL
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND level <= 2 AND comment != ''
  AND (%(department)s = '' OR department_code = %(department)s)
  AND (%(service)s = '' OR service_code = %(service)s)
ORDER BY cityHash64(evaluation_id), evaluation_id
LIMIT %(limit)s
"""

# All comments of the period, every department, every level: the background the bad-review
# comments are compared with; at most `limit` (a repeatable sample when there are more).
PROBLEM_ALL_COMMENTS = """
SELECT comment
FROM ratings FINAL
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND comment != ''
ORDER BY cityHash64(evaluation_id), evaluation_id
LIMIT %(limit)s
"""

# Departments ranked by on-time rectification (按期整改率) in a month, worst first.
CASE_INDICATOR_RANKING = """
SELECT department_code, month, bad_reviews, reply_rate, callback_rate,
       on_time_rectification_rate, rectification_rate, appeals, appeals_upheld
FROM case_indicators_monthly
WHERE month = toStartOfMonth(toDate(%(month)s)) AND bad_reviews >= %(min_total)s
ORDER BY on_time_rectification_rate ASC, callback_rate ASC, bad_reviews DESC
LIMIT %(limit)s
"""

# ---- reconciliation: `haochaping reconcile` (reports/reconcile.py) ----------------------
# Rows of reconciliation_daily (migration 006) over the days [from_day, to_day]: how many
# were compared, how many differ from the recount (in any level), and how many of those are
# days from horizon_day on (inside the long horizon).
RECONCILED_ROWS = """
SELECT count() AS compared, sum(NOT levels_agree) AS differing,
       sum(NOT levels_agree AND day >= toDate(%(horizon_day)s)) AS differing_in_horizon
FROM reconciliation_daily
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s)
"""

RECONCILIATION_DIFFERENCES = """
SELECT day, dimension, key, window_total, recount_total, difference, window_levels,
       recount_levels
FROM reconciliation_daily
WHERE day >= toDate(%(from_day)s) AND day <= toDate(%(to_day)s) AND NOT levels_agree
ORDER BY day, dimension, key
LIMIT %(limit)s
"""
