-- Issue 27: what the office and the departments did with a case, as the worker accepted it from
-- cases.actions (streams/cases/rules.py): the action's id, the 核实 (属实, 合理, category), the
-- call-back's outcome and the citizen's rating of the rectification. `note` stays unlanded.
-- (18.16 has no ADD COLUMN IF NOT EXISTS: sinks/migrate.py checks system.columns first there)
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS action_id String DEFAULT '';
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS truthful Int8 DEFAULT -1;
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS reasonable Int8 DEFAULT -1;
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS category String DEFAULT '';
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS outcome String DEFAULT '';
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS satisfaction String DEFAULT '';

-- The loop's indicators per department (the one the case is with at its last route) and month
-- the case opened: 核实, 属实, 退单 requests and refusals, 转办, 回访 reached, 整改满意率 (满意 and
-- 基本满意 of the rated rectifications), appeals upheld.
CREATE VIEW IF NOT EXISTS case_loop_monthly AS
SELECT
    department_code,
    month,
    cases,
    verified_cases,
    truthful_cases,
    routed_cases,
    reroute_requests,
    reroutes_refused,
    reached_callbacks,
    rated_rectifications,
    satisfied_rectifications,
    appeals_upheld,
    round(verified_cases / cases, 4) AS verification_rate,
    round(reached_callbacks / cases, 4) AS reached_callback_rate,
    if(rated_rectifications = 0, 0,
       round(satisfied_rectifications / rated_rectifications, 4)) AS rectification_satisfaction_rate
FROM
(
    SELECT
        if(l_routed_to = '', l_department, l_routed_to) AS department_code,
        toStartOfMonth(l_opened_at) AS month,
        count() AS cases,
        sum(l_verified) AS verified_cases,
        sum(l_truthful) AS truthful_cases,
        sum(l_routes > 0) AS routed_cases,
        sum(l_requests) AS reroute_requests,
        sum(l_refusals) AS reroutes_refused,
        sum(l_reached) AS reached_callbacks,
        sum(l_rating != '') AS rated_rectifications,
        sum(l_rating IN ('satisfied', 'basically_satisfied')) AS satisfied_rectifications,
        sum(l_upheld) AS appeals_upheld
    FROM
    (
        SELECT
            case_id,
            anyIf(department_code, event = 'opened') AS l_department,
            argMaxIf(department_code, at, event = 'routed') AS l_routed_to,
            minIf(at, event = 'opened') AS l_opened_at,
            countIf(event = 'opened') AS l_opened,
            countIf(event = 'verified') > 0 AS l_verified,
            argMinIf(truthful, at, event = 'verified') = 1 AS l_truthful,
            countIf(event = 'routed') AS l_routes,
            countIf(event = 'reroute_requested') AS l_requests,
            countIf(event = 'reroute_refused') AS l_refusals,
            countIf(event = 'called_back' AND outcome = 'reached') > 0 AS l_reached,
            argMinIf(satisfaction, at, event = 'rectification_rated') AS l_rating,
            countIf(event = 'appeal_upheld') > 0 AS l_upheld
        FROM case_events FINAL
        GROUP BY case_id
    )
    WHERE l_opened > 0
    GROUP BY department_code, month
);
