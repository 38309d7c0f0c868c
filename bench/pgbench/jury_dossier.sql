-- GET /v1/jury-cases/{id}/dossier (a juror's token), a random open case of FIRST..LAST.
\set id random(:first, :last)
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.jury_dossier(:tok, :rid, :id::bigint)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
