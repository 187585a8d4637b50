"""The analyst queries the CLI runs; tests run each on ClickHouse 18.16 and on chdb."""

from __future__ import annotations

from runtime.clock import CHINA_OFFSET_S, CHINA_ZONE

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

# Evaluations a channel sent with another key than the contract's (issue 26): the share per
# channel tells its team to fix the producer; they are counted right either way.
MISKEYED_BY_CHANNEL = """
SELECT channel, count() AS evaluations, sum(miskeyed) AS miskeyed,
       round(miskeyed / evaluations, 4) AS share
FROM ratings FINAL
WHERE ingested_at >= toDateTime(%(since)s)
GROUP BY channel
ORDER BY share DESC, evaluations DESC
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

# `department` narrows through the sorting key only as `department_code = …`: 18.16 does not
# fold `'D1' = '' OR department_code = 'D1'`, so that form reads every evaluation of the
# period. Each query is therefore written twice, for every department (`…`) and for one
# (`…_OF_DEPARTMENT`, which reports/problems.py picks when `department` is given).
# Bad reviews are picked by PREWHERE level <= 2: only their rows (a few percent) are read whole
# and merged by FINAL, not every evaluation's tags and comment. Filtering before FINAL's merge
# keeps its answer, since every copy of an evaluation has the same level (a copy is the same
# evaluation landed again; FINAL then keeps the newest of the copies, all of them bad).
_ANY_DEPARTMENT = "(%(department)s = '' OR department_code = %(department)s)"
_ONE_DEPARTMENT = "department_code = %(department)s"

# Evaluations and bad reviews per department and service item in the period.
_problem_groups = """
SELECT department_code, any(department_name) AS department_name,
       service_code, any(service_name) AS service_name,
       count() AS evaluations, sum(level <= 2) AS bad_reviews,
       sum(level <= 2 AND comment != '') AS bad_comments
FROM ratings FINAL
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND {department}
  AND (%(service)s = '' OR service_code = %(service)s)
GROUP BY department_code, service_code
ORDER BY bad_reviews DESC, department_code, service_code
"""
PROBLEM_GROUPS = _problem_groups.format(department=_ANY_DEPARTMENT)
PROBLEM_GROUPS_OF_DEPARTMENT = _problem_groups.format(department=_ONE_DEPARTMENT)

# The review tags of bad reviews per department and service item (a review counts once per
# tag it carries; reviews without tags are not counted here).
_problem_bad_tags = """
SELECT department_code, service_code, tag, count() AS bad_reviews
FROM ratings FINAL
ARRAY JOIN tags AS tag
PREWHERE level <= 2
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND {department}
  AND (%(service)s = '' OR service_code = %(service)s)
GROUP BY department_code, service_code, tag
ORDER BY bad_reviews DESC, department_code, service_code, tag
"""
PROBLEM_BAD_TAGS = _problem_bad_tags.format(department=_ANY_DEPARTMENT)
PROBLEM_BAD_TAGS_OF_DEPARTMENT = _problem_bad_tags.format(department=_ONE_DEPARTMENT)

# The comments of bad reviews, at most `limit` (a repeatable sample when there are more).
_problem_bad_comments = """
SELECT department_code, department_name, service_code, service_name, comment
FROM ratings FINAL
PREWHERE level <= 2
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
  AND comment != ''
  AND {department}
  AND (%(service)s = '' OR service_code = %(service)s)
ORDER BY cityHash64(evaluation_id), evaluation_id
LIMIT %(limit)s
"""
PROBLEM_BAD_COMMENTS = _problem_bad_comments.format(department=_ANY_DEPARTMENT)
PROBLEM_BAD_COMMENTS_OF_DEPARTMENT = _problem_bad_comments.format(department=_ONE_DEPARTMENT)

# All comments of the period, every department, every level: the background the bad-review
# comments are compared with; at most `limit` (a repeatable sample when there are more).
# Most evaluations have no comment: PREWHERE reads the comment column alone first, and the
# newest version of each evaluation (`ingested_at`, as FINAL keeps it) is taken among those
# with a comment, LIMIT 1 BY evaluation_id instead of FINAL (which would read and merge every
# evaluation of the period first, 10x slower on 5 M). A replay is the same row again: counted
# once either way.
PROBLEM_ALL_COMMENTS = """
SELECT comment
FROM ratings
PREWHERE comment != ''
WHERE evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
ORDER BY cityHash64(evaluation_id), evaluation_id, ingested_at DESC
LIMIT 1 BY evaluation_id
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
"""

# ---- the dashboard (reports/pages/, `haochaping dashboard`) ----------------------
# Read the worker's window counts directly, not the `satisfaction` view: ClickHouse 18.16 does
# not push a WHERE into a view's subquery (enable_optimize_predicate_expression is 0), so a
# filter on the view would aggregate every window ever landed first. They are read from
# satisfaction_partials_by_window (migration 008: the same rows sorted by (dimension, window,
# window_start, key, …)), where the filters under FINAL pick a contiguous range: every
# service item's day windows of 30 days are ~50 k rows there, against ~3 M rows of their
# granules in satisfaction_partials, whose sort key puts `key` before `window`. The range is
# [from_ts, to_ts) in epoch seconds; `step` buckets by Shanghai hour (3600) or day (86400).

# Level counts per key and bucket of one dimension (every key, or the keys in %(keys)s).
# (Templates are lower case: tests run every upper-case query of this module as it is.)
_window_series = """
SELECT key, bucket, sum(level_1), sum(level_2), sum(level_3), sum(level_4), sum(level_5)
FROM
(
    SELECT key, toUInt32(window_start) - modulo(toUInt32(window_start) + {china_offset}, %(step)s)
               AS bucket,
           level_1, level_2, level_3, level_4, level_5
    FROM satisfaction_partials_by_window FINAL
    WHERE dimension = %(dimension)s AND window = %(window)s
      AND window_start >= toDateTime(%(from_ts)s) AND window_start < toDateTime(%(to_ts)s)
      {keys}
)
GROUP BY key, bucket
ORDER BY key, bucket
"""
WINDOW_SERIES = _window_series.format(keys="", china_offset=CHINA_OFFSET_S)
WINDOW_SERIES_OF_KEYS = _window_series.format(
    keys="AND key IN %(keys)s", china_offset=CHINA_OFFSET_S
)

# Does a key of a dimension have any day window at all (an unknown department is a 400)?
# 1 or 0, whatever the number of replayed copies of its rows.
KEY_EXISTS = """
SELECT toUInt8(count() > 0) FROM satisfaction_partials
WHERE dimension = %(dimension)s AND key = %(key)s AND window = '1d'
"""

# Names of departments and service items, and which department a service item belongs to,
# over the Shanghai days of [from_ts, to_ts) (both midnights): from names_daily (migration
# 006, a row per day, department and service item), not the range's evaluations.
DASHBOARD_NAMES = """
SELECT department_code, any(department_name), service_code, any(service_name)
FROM names_daily
WHERE day >= toDate(toDateTime(%(from_ts)s, '{CHINA_ZONE}'))
  AND day < toDate(toDateTime(%(to_ts)s, '{CHINA_ZONE}'))
GROUP BY department_code, service_code
""".replace("{CHINA_ZONE}", CHINA_ZONE)

# One department's evaluations by service item, hall and channel: the windows do not cross
# dimensions, so this reads `ratings`, but only the department's part of its sorting key.
DEPARTMENT_BREAKDOWN = """
SELECT service_code, any(service_name), hall_code, channel,
       count() AS evaluations, sum(level <= 2) AS bad_reviews
FROM ratings FINAL
WHERE department_code = %(department)s
  AND evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
GROUP BY service_code, hall_code, channel
"""

# A department's latest bad reviews: scrubbed comment, never the evaluator or staff id
# (PREWHERE level <= 2 as in the problem queries above).
DEPARTMENT_RECENT_BAD = """
SELECT toUInt32(evaluated_at), service_code, service_name, channel, hall_code, level, tags,
       comment
FROM ratings FINAL
PREWHERE level <= 2
WHERE department_code = %(department)s
  AND evaluated_at >= toDateTime(%(from_ts)s) AND evaluated_at < toDateTime(%(to_ts)s)
ORDER BY evaluated_at DESC, evaluation_id
LIMIT %(limit)s
"""

# Alerts open now or opened in the range (alert_history is small: one row per alert event).
DASHBOARD_ALERTS = """
SELECT alert_id, dimension, key, status, toUInt32(opened_at), toUInt32(last_event_at),
       toUInt32(resolved_at), peak_bad, peak_total, expected_at_peak, max_score,
       toUInt32(first_window_start), toUInt32(last_window_end), last_explanation
FROM alert_history
WHERE status = 'open'
   OR (opened_at >= toDateTime(%(from_ts)s) AND opened_at < toDateTime(%(to_ts)s))
ORDER BY status = 'open' DESC, opened_at DESC, alert_id
LIMIT %(limit)s
"""

# The events of some alerts: observed and expected counts of each minute judged.
ALERT_EVENTS = """
SELECT alert_id, toString(state), bad, total, expected, score, toUInt32(window_start)
FROM alerts FINAL
WHERE alert_id IN %(alert_ids)s
ORDER BY alert_id, window_start, state
"""

# The minutes around the onset of some alerts, one statement for them all: part n is alert
# n's key in [from_n, to_n), each minute's level counts. A UNION ALL of one range each, as
# each part reads only its own granules (an OR of the ranges reads everything between them,
# a query per alert pays a round trip each). Rendered for a number of alerts by
# alert_minutes(); parameters dimension_n, key_n, from_n, to_n (epoch seconds).
_alert_minutes_part = """
SELECT toUInt16({n}) AS part, toUInt32(window_start) AS minute_start,
       sum(level_1), sum(level_2), sum(level_3), sum(level_4), sum(level_5)
FROM satisfaction_partials_by_window FINAL
WHERE dimension = %(dimension_{n})s AND window = '1m'
  AND window_start >= toDateTime(%(from_{n})s) AND window_start < toDateTime(%(to_{n})s)
  AND key = %(key_{n})s
GROUP BY minute_start
"""


def alert_minutes(count: int) -> str:
    """The minutes around the onset of ``count`` (at least 1) alerts, as one statement."""
    return "UNION ALL".join(_alert_minutes_part.format(n=n) for n in range(count))


# The follow-up state of cases (the `cases` view's definitions) from `case_state` (migration
# 009: kept per case and month by a materialized view on `case_events`), merged per case:
# which steps exist (bits: 1 opened, 2 appealed, 4 closed or upheld on appeal), the opening's
# department and due dates, a step's earliest time (epoch seconds, 0 for never). Every
# aggregate gives the same answer over a replayed event's copies, so no FINAL. {where} narrows
# the rows before the merge, {having} the cases after it (only cases that were opened).
_case_state = """
SELECT
    case_id,
    groupBitOrMerge(steps) AS c_steps,
    anyIfMerge(department_code) AS c_department,
    minIfMerge(opened_at) AS c_opened_at,
    anyIfMerge(rectification_due_at) AS c_rectification_due,
    minIfMerge(called_back_at) AS c_called_back_at,
    minIfMerge(rectified_at) AS c_rectified_at
FROM case_state
{where}
GROUP BY case_id
HAVING bitAnd(c_steps, 1) != 0{having}
"""

# 回访率, 整改率, 按期整改率 per department of the cases opened in [from_ts, to_ts): every
# case's state merged, no IN over the range's case ids (a lookup per case event that cost
# more than the merge), then the range and department on the merged opening.
CASE_INDICATORS = (
    """
SELECT c_department, count() AS bad_reviews,
       sum(c_called_back_at != 0) AS called_back,
       sum(c_rectified_at != 0) AS rectified,
       sum(c_rectified_at != 0 AND c_rectified_at <= c_rectification_due) AS rectified_on_time,
       sum(bitAnd(c_steps, 2) != 0) AS appeals
FROM
(
"""
    + _case_state.format(
        where="",
        having="\n   AND c_opened_at >= %(from_ts)s AND c_opened_at < %(to_ts)s"
        "\n   AND (%(department)s = '' OR c_department = %(department)s)",
    )
    + """
)
GROUP BY c_department
"""
)

# Cases with a deadline warning (超期预警) whose step is still not done: due soon, or overdue
# (how late, at `now_ts`). A case closed or upheld on appeal owes nothing any more.
OPEN_DEADLINES = (
    """
SELECT case_id, w_deadline, w_kind, toUInt32(w_due), c_department, c_opened_at
FROM
(
    SELECT case_id, deadline AS w_deadline, max(kind) AS w_kind, any(due_at) AS w_due
    FROM case_warnings
    WHERE (%(department)s = '' OR department_code = %(department)s)
    GROUP BY case_id, deadline
) AS warned
ANY INNER JOIN
(
"""
    + _case_state.format(
        where="WHERE case_id IN (SELECT case_id FROM case_warnings "
        "WHERE (%(department)s = '' OR department_code = %(department)s))",
        having="",
    )
    + """
) AS state
USING (case_id)
WHERE bitAnd(c_steps, 4) = 0
  AND NOT (w_deadline = 'callback' AND c_called_back_at != 0)
  AND NOT (w_deadline = 'rectification' AND c_rectified_at != 0)
ORDER BY w_kind = 'overdue' DESC, w_due, case_id
LIMIT %(limit)s
"""
)
