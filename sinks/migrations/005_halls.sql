-- 服务大厅 (service halls) as a dimension: the worker counts evaluations given in a hall (at a
-- counter pad, a kiosk or a hall QR code) under dimension 'hall', key = hall_code; online
-- evaluations have no hall and are not counted there. The rows arrive in satisfaction_partials
-- like every other dimension; this view is what analysts rank halls with.

-- 大厅排名: one row per hall and Shanghai day, from the worker's day windows (exact under
-- replays: the `satisfaction` view keeps each partition's newest version).
CREATE VIEW IF NOT EXISTS ranking_halls_daily AS
SELECT
    toDate(window_start) AS day,
    key AS hall_code,
    total,
    good,
    bad,
    good_rate,
    bad_rate,
    mean_level,
    level_1,
    level_2,
    level_3,
    level_4,
    level_5
FROM satisfaction
WHERE dimension = 'hall' AND window = '1d';
