-- Issue 29, part 2: what the third-party evaluators' database (`<database>_public`) publishes.
-- Only what the rules ask for (GB/T 39734 Annex B: evaluations, 好评, 差评 and the five levels per
-- service item and department), per Shanghai day, and only days that have ended: a day still
-- being counted grows by one evaluation at a time, and two readings a minute apart would show
-- that one evaluation's level. No minute, hall, window or staff cell, and no name (the public
-- page shows the catalogue's names). The suppression is here, in the views, not in a page:
--
-- 1. a cell of fewer than 10 evaluations is not published;
-- 2. a department's cell is not published either when its unpublished service items hold 1 to
--    9 evaluations of the day: the department minus its published items would show them;
-- 3. the same for the day's total ('all') and its unpublished departments.
--
-- An evaluation that arrives after its day was published changes that day's cell (late
-- arrivals count in their day up to HAOCHAPING_LATE_HORIZON_DAYS): docs/security.md says what a
-- reader comparing two readings can learn from that.

-- Every cell of an ended day, as the worker's day windows counted it; 'all' sums the channels,
-- since each evaluation has exactly one.
CREATE VIEW IF NOT EXISTS public_day_cells AS
SELECT
    day,
    dim AS dimension,
    k AS key,
    l1 + l2 + l3 + l4 + l5 AS total,
    l1 AS level_1,
    l2 AS level_2,
    l3 AS level_3,
    l4 AS level_4,
    l5 AS level_5
FROM
(
    SELECT
        toDate(window_start) AS day,
        if(dimension = 'channel', 'all', dimension) AS dim,
        if(dimension = 'channel', '', key) AS k,
        sum(level_1) AS l1,
        sum(level_2) AS l2,
        sum(level_3) AS l3,
        sum(level_4) AS l4,
        sum(level_5) AS l5
    FROM satisfaction_partials_by_window FINAL
    WHERE window = '1d'
      AND dimension IN ('department', 'service', 'channel')
      AND toDate(window_start) < toDate(toTimeZone(now(), 'Asia/Shanghai'))
    GROUP BY day, dim, k
);

-- What each department's unpublished service items hold on a day (rule 2); a service item's
-- department is the one its evaluations of that day named (names_daily).
CREATE VIEW IF NOT EXISTS public_hidden_services AS
SELECT day, department_code AS key, sum(total) AS hidden
FROM
(
    SELECT day, key AS service_code, total
    FROM public_day_cells
    WHERE dimension = 'service' AND total < 10
) AS small
ANY INNER JOIN
(
    SELECT day, service_code, any(department_code) AS department_code
    FROM names_daily FINAL
    GROUP BY day, service_code
) AS owners USING (day, service_code)
GROUP BY day, key;

-- Departments with their rule-2 verdict.
CREATE VIEW IF NOT EXISTS public_departments_judged AS
SELECT
    day,
    key,
    total,
    level_1,
    level_2,
    level_3,
    level_4,
    level_5,
    total >= 10 AND (hidden = 0 OR hidden >= 10) AS published
FROM
(
    SELECT day, key, total, level_1, level_2, level_3, level_4, level_5
    FROM public_day_cells
    WHERE dimension = 'department'
) AS departments
ANY LEFT JOIN (SELECT day, key, hidden FROM public_hidden_services) AS hidden_services
    USING (day, key);

-- What the evaluators read.
CREATE VIEW IF NOT EXISTS public_satisfaction_daily AS
SELECT
    day,
    dimension,
    key,
    total,
    level_3 + level_4 + level_5 AS good,
    level_1 + level_2 AS bad,
    level_1,
    level_2,
    level_3,
    level_4,
    level_5,
    good / total AS good_rate,
    bad / total AS bad_rate,
    (level_1 + 2 * level_2 + 3 * level_3 + 4 * level_4 + 5 * level_5) / total AS mean_level
FROM
(
    SELECT day, dimension, key, total, level_1, level_2, level_3, level_4, level_5
    FROM public_day_cells
    WHERE dimension = 'service' AND total >= 10
    UNION ALL
    SELECT day, 'department' AS dimension, key, total, level_1, level_2, level_3, level_4, level_5
    FROM public_departments_judged
    WHERE published
    UNION ALL
    SELECT day, 'all' AS dimension, key, total, level_1, level_2, level_3, level_4, level_5
    FROM
    (
        SELECT day, key, total, level_1, level_2, level_3, level_4, level_5
        FROM public_day_cells
        WHERE dimension = 'all' AND total >= 10
    ) AS days
    ANY LEFT JOIN
    (
        SELECT day, sum(total) AS hidden
        FROM public_departments_judged
        WHERE NOT published
        GROUP BY day
    ) AS hidden_departments USING (day)
    WHERE hidden = 0 OR hidden >= 10
);
