-- GET /v1/calibration (pedagogy's token): every evaluator's counters.
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.calibration_list(:tok, :rid, :settings::jsonb)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
