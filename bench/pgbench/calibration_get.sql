-- GET /v1/evaluators/{id}/calibration (pedagogy's token), a random evaluator of
-- FIRST..LAST; QUERY is {} or {"since": ...}, SETTINGS certflowd's settings JSON.
\set id random(:first, :last)
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.calibration_get(:tok, :rid, :id::bigint, :query::jsonb, :settings::jsonb)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
