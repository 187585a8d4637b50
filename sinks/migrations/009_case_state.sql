-- The follow-up state of every case, kept as its events land: what the dashboard's follow-up
-- page reads instead of grouping every case event of the range's cases by case id (after an
-- IN over their ids) on every request. Derived like the tables of migration 008: a
-- materialized view fills it from `case_events` on every insert, and a copy of what was there
-- fills it once. The copy may run twice and an event may land twice after a replay: every
-- aggregate here gives the same answer over a row's copies (which steps exist, as bits; the
-- earliest time of a step; any of the opening's copies), never a count or a sum of rows.
--
-- One row per case and month of its events after merges (`month`: the month of `at`, as
-- `case_events` is partitioned, so retention drops the same months of both); read grouped by
-- case_id with the -Merge combinators. The same definitions as the `cases` view: a case
-- exists once its `opened` event has landed; its department, opening time and due dates are
-- those of its opening; a step's time is its earliest report. Times are epoch seconds, 0 for
-- never (the view's toDateTime(0)).
-- steps: bit 1 opened, 2 appealed, 4 closed (closed or upheld on appeal).
CREATE TABLE IF NOT EXISTS case_state
(
    case_id String,
    month Date,
    steps AggregateFunction(groupBitOr, UInt8),
    department_code AggregateFunction(anyIf, String, UInt8),
    opened_at AggregateFunction(minIf, UInt32, UInt8),
    callback_due_at AggregateFunction(anyIf, UInt32, UInt8),
    rectification_due_at AggregateFunction(anyIf, UInt32, UInt8),
    called_back_at AggregateFunction(minIf, UInt32, UInt8),
    rectified_at AggregateFunction(minIf, UInt32, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(month)
ORDER BY case_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_state_feed
TO case_state
AS SELECT case_id, toStartOfMonth(at) AS month,
          groupBitOrState(toUInt8(multiIf(event = 'opened', 1, event = 'appealed', 2,
                                          event IN ('closed', 'appeal_upheld'), 4, 0))) AS steps,
          anyIfState(department_code, event = 'opened') AS department_code,
          minIfState(toUInt32(at), event = 'opened') AS opened_at,
          anyIfState(toUInt32(callback_due_at), event = 'opened') AS callback_due_at,
          anyIfState(toUInt32(rectification_due_at), event = 'opened') AS rectification_due_at,
          minIfState(toUInt32(at), event = 'called_back') AS called_back_at,
          minIfState(toUInt32(at), event = 'rectified') AS rectified_at
FROM case_events
GROUP BY case_id, month;

INSERT INTO case_state
SELECT case_id, toStartOfMonth(at) AS month,
       groupBitOrState(toUInt8(multiIf(event = 'opened', 1, event = 'appealed', 2,
                                       event IN ('closed', 'appeal_upheld'), 4, 0))) AS steps,
       anyIfState(department_code, event = 'opened') AS department_code,
       minIfState(toUInt32(at), event = 'opened') AS opened_at,
       anyIfState(toUInt32(callback_due_at), event = 'opened') AS callback_due_at,
       anyIfState(toUInt32(rectification_due_at), event = 'opened') AS rectification_due_at,
       minIfState(toUInt32(at), event = 'called_back') AS called_back_at,
       minIfState(toUInt32(at), event = 'rectified') AS rectified_at
FROM case_events
GROUP BY case_id, month;
