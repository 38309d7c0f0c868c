-- GET /v1/defenses?mine=1 (one evaluator's token; QUERY is certflowd's {"mine": "1"}).
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.defense_list(:tok, :rid, :query::jsonb)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
