-- 0002_validation_loop: paths, projects and skills; evaluator qualifications
-- and declared conflicts; enrollments and their per-project attempts; the
-- mentors' weekly notes; handovers with their deliverables; the replayable
-- evaluator draw; defenses and their verdicts.
--
-- Transitions are looked up in workflow_transitions, which certflowd
-- --migrate fills from lib/workflow.c (the only definition of the state
-- machine). Each route function locks the rows it changes (FOR UPDATE) so
-- that concurrent requests, from any number of certflowd processes,
-- serialise on the database and exactly one wins.

CREATE TABLE workflow_transitions (
	entity		text NOT NULL,
	from_state	text NOT NULL,
	event		text NOT NULL,
	role		text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (entity, from_state, event, role)
);

-- The next state, or NULL when the transition is not legal.
CREATE FUNCTION api.transition(p_entity text, p_from text, p_event text, p_role text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_state FROM workflow_transitions
	WHERE entity = p_entity AND from_state = p_from AND event = p_event
	  AND role = p_role
$$;

CREATE TABLE paths (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code		text NOT NULL UNIQUE,
	title		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	path_id		bigint NOT NULL REFERENCES paths (id),
	position	int NOT NULL CHECK (position > 0),
	code		text NOT NULL,
	title		text NOT NULL,
	-- NULL for the path's own projects; an enrollment's id for the extra
	-- project a jury asked of that student alone (0005)
	enrollment_id	bigint
);
CREATE UNIQUE INDEX projects_path_code ON projects (path_id, code) WHERE enrollment_id IS NULL;
CREATE UNIQUE INDEX projects_path_position ON projects (path_id, position)
	WHERE enrollment_id IS NULL;

CREATE TABLE skills (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project_id	bigint NOT NULL REFERENCES projects (id),
	code		text NOT NULL,
	title		text NOT NULL,
	UNIQUE (project_id, code)
);

CREATE TABLE qualifications (
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	path_id		bigint NOT NULL REFERENCES paths (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (evaluator_id, path_id)
);
CREATE INDEX qualifications_path ON qualifications (path_id);

CREATE TABLE conflicts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	student_id	bigint NOT NULL REFERENCES users (id),
	reason		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (evaluator_id, student_id)
);
CREATE INDEX conflicts_student ON conflicts (student_id);

CREATE TABLE enrollments (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	student_id	bigint NOT NULL REFERENCES users (id),
	path_id		bigint NOT NULL REFERENCES paths (id),
	mentor_id	bigint NOT NULL REFERENCES users (id),
	kind		text NOT NULL CHECK (kind IN ('diploma', 'certificate')),
	state		text NOT NULL DEFAULT 'in_progress',
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	-- kept by the notes route so that alerts read one row per enrollment
	last_note_week	text,
	last_note_at	timestamptz,
	last_note_at_risk boolean NOT NULL DEFAULT false
);
CREATE INDEX enrollments_student ON enrollments (student_id);
CREATE INDEX enrollments_mentor ON enrollments (mentor_id);
ALTER TABLE projects ADD FOREIGN KEY (enrollment_id) REFERENCES enrollments (id);
CREATE INDEX enrollments_in_progress ON enrollments (last_note_at)
	WHERE state = 'in_progress';
-- one running diploma per student and path (certificates for different
-- projects of a path may run side by side)
CREATE UNIQUE INDEX enrollments_one_running ON enrollments (student_id, path_id)
	WHERE kind = 'diploma' AND state IN ('in_progress', 'awaiting_jury');

CREATE TABLE attempts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	enrollment_id	bigint NOT NULL REFERENCES enrollments (id),
	project_id	bigint NOT NULL REFERENCES projects (id),
	position	int NOT NULL,
	state		text NOT NULL,
	round		int NOT NULL DEFAULT 0,	-- handovers so far
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (enrollment_id, project_id)
);

CREATE TABLE notes (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	enrollment_id	bigint NOT NULL REFERENCES enrollments (id),
	author_id	bigint NOT NULL REFERENCES users (id),
	week		text NOT NULL CHECK (week ~ '^[0-9]{4}-W[0-9]{2}$'),
	progress	int NOT NULL CHECK (progress BETWEEN 0 AND 100),
	body		text NOT NULL,
	at_risk		boolean NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (enrollment_id, week)
);

CREATE TABLE deliverables (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	attempt_id	bigint NOT NULL REFERENCES attempts (id),
	round		int NOT NULL,
	title		text NOT NULL,
	uri		text NOT NULL,
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliverables_attempt ON deliverables (attempt_id, round);

-- Every draw, replayable: the seed, the eligible candidates in id order with
-- their open loads at that moment, and the pick.
CREATE TABLE draws (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text NOT NULL,
	seed		bytea NOT NULL CHECK (length(seed) = 32),
	candidates	bigint[] NOT NULL,
	loads		int[] NOT NULL,
	pick		bigint NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (cardinality(candidates) = cardinality(loads))
);

CREATE TABLE defenses (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	attempt_id	bigint NOT NULL REFERENCES attempts (id),
	round		int NOT NULL,
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	draw_id		bigint NOT NULL REFERENCES draws (id),
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'decided')),
	due_at		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	verdict		text CHECK (verdict IN ('validated', 'needs_improvement')),
	comment		text,
	recording_uri	text,
	recording_sha256 text CHECK (recording_sha256 ~ '^[0-9a-f]{64}$'),
	decided_at	timestamptz,
	UNIQUE (attempt_id, round),
	CHECK ((state = 'decided') = (verdict IS NOT NULL))
);
CREATE INDEX defenses_pending_evaluator ON defenses (evaluator_id) WHERE state = 'pending';
CREATE INDEX defenses_pending_due ON defenses (due_at) WHERE state = 'pending';

CREATE TABLE defense_skills (
	defense_id	bigint NOT NULL REFERENCES defenses (id),
	skill_id	bigint NOT NULL REFERENCES skills (id),
	acquired	boolean NOT NULL,
	PRIMARY KEY (defense_id, skill_id)
);

-- Missed deadlines and reassignments, held against the evaluator.
CREATE TABLE evaluator_misses (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	defense_id	bigint NOT NULL REFERENCES defenses (id),
	kind		text NOT NULL CHECK (kind IN ('deadline', 'reassigned')),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evaluator_misses_evaluator ON evaluator_misses (evaluator_id);

------------------------------------------------------------------------
-- JSON views
------------------------------------------------------------------------

CREATE FUNCTION api.path_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', p.id, 'code', p.code, 'title', p.title,
	    'created_at', p.created_at,
	    'projects', coalesce((
		SELECT jsonb_agg(jsonb_build_object('id', j.id, 'code', j.code,
		    'title', j.title, 'position', j.position,
		    'skills', coalesce((
			SELECT jsonb_agg(jsonb_build_object('id', s.id, 'code', s.code,
			    'title', s.title) ORDER BY s.id)
			FROM skills s WHERE s.project_id = j.id), '[]'))
		    ORDER BY j.position)
		FROM projects j WHERE j.path_id = p.id AND j.enrollment_id IS NULL), '[]'))
	FROM paths p WHERE p.id = p_id
$$;

CREATE FUNCTION api.defense_json(d defenses) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', d.id, 'round', d.round,
	    'evaluator_id', d.evaluator_id, 'state', d.state, 'due_at', d.due_at,
	    'verdict', d.verdict, 'comment', d.comment, 'decided_at', d.decided_at,
	    'recording', CASE WHEN d.recording_uri IS NULL THEN NULL ELSE
		jsonb_build_object('uri', d.recording_uri, 'sha256', d.recording_sha256) END,
	    'skills', coalesce((
		SELECT jsonb_agg(jsonb_build_object('code', s.code, 'acquired', ds.acquired)
		    ORDER BY s.id)
		FROM defense_skills ds JOIN skills s ON s.id = ds.skill_id
		WHERE ds.defense_id = d.id), '[]'))
$$;

CREATE FUNCTION api.deliverables_json(p_attempt bigint, p_round int)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('title', v.title, 'uri', v.uri,
	    'sha256', v.sha256) ORDER BY v.id), '[]')
	FROM deliverables v WHERE v.attempt_id = p_attempt AND v.round = p_round
$$;

CREATE FUNCTION api.attempt_json(a attempts) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', a.id, 'project_id', a.project_id,
	    'project_code', j.code, 'project_title', j.title, 'position', a.position,
	    'state', a.state, 'round', a.round,
	    'rounds', coalesce((
		SELECT jsonb_agg(jsonb_build_object('round', r,
		    'deliverables', api.deliverables_json(a.id, r),
		    'defense', (SELECT api.defense_json(d) FROM defenses d
				WHERE d.attempt_id = a.id AND d.round = r))
		    ORDER BY r)
		FROM generate_series(1, a.round) r), '[]'))
	FROM projects j WHERE j.id = a.project_id
$$;

CREATE FUNCTION api.enrollment_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', e.id, 'kind', e.kind, 'state', e.state,
	    'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id,
	    'created_at', e.created_at, 'updated_at', e.updated_at,
	    'attempts', coalesce((
		SELECT jsonb_agg(api.attempt_json(a) ORDER BY a.position)
		FROM attempts a WHERE a.enrollment_id = e.id), '[]'))
	FROM enrollments e WHERE e.id = p_id
$$;

-- May CALLER read enrollment E? The student, their mentor, pedagogy, admin.
CREATE FUNCTION api.can_read_enrollment(p_user bigint, p_roles text[], e enrollments)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT e.student_id = p_user OR e.mentor_id = p_user
	    OR p_roles && ARRAY['pedagogy', 'admin']
$$;

------------------------------------------------------------------------
-- The draw: same derivation as lib/draw.c (draw_index, draw_pick).
------------------------------------------------------------------------

-- A uniform index in [0, n): 56-bit values of SHA-256(seed || be32(counter)),
-- rejected above the largest multiple of n.
CREATE FUNCTION api.draw_index(p_seed bytea, p_n int)
RETURNS int LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	v_space constant numeric := 72057594037927936;	-- 2^56
	v_limit bigint := (v_space - mod(v_space, p_n))::bigint;
	v_x bigint;
BEGIN
	FOR v_counter IN 0 .. 2147483647 LOOP
		v_x := ('x' || encode(substr(sha256(p_seed || int4send(v_counter)), 1, 7),
		    'hex'))::bit(56)::bigint;
		IF v_x < v_limit THEN
			RETURN (v_x % p_n)::int;
		END IF;
	END LOOP;
	RAISE EXCEPTION 'draw_index: no value found';
END
$$;

-- Who reviews (or reviewed) a defense of this attempt: never drawn to
-- evaluate another round of it, since a new round tells the first verdict.
-- Blind review (0003) fills it in.
CREATE FUNCTION api.attempt_reviewers(p_attempt bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$ SELECT '{}'::bigint[] $$;

-- What an evaluator has on their plate, for the draw: open defenses (0003
-- adds open reviews for the kind 'review').
CREATE FUNCTION api.open_load(p_kind text, p_evaluator bigint)
RETURNS int LANGUAGE sql STABLE AS $$
	SELECT count(*)::int FROM defenses d
	WHERE d.evaluator_id = p_evaluator AND d.state = 'pending'
$$;

-- Draws an evaluator for a defense (P_KIND 'defense') or a blind review
-- ('review') of STUDENT on PATH: qualified evaluators who are not the
-- student, not the mentor, not in declared conflict with the student and not
-- in P_EXCLUDE; fewest open defenses (or open reviews) first; uniform among
-- those by the seed. Stores the draw and returns its id and pick, or NULLs
-- when nobody is eligible (nothing is then written).
CREATE FUNCTION api.draw_evaluator(p_kind text, p_path bigint, p_student bigint,
	p_mentor bigint, p_exclude bigint[], p_seed bytea,
	OUT draw_id bigint, OUT pick bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_ids bigint[];
	v_loads int[];
	v_lowest bigint[];
BEGIN
	-- Draws that share candidates take turns until commit, so that each sees
	-- the loads the previous one left: concurrent handovers still spread.
	-- NO KEY UPDATE, in id order: it does not block the KEY SHARE locks that
	-- foreign keys to users take, and two draws cannot deadlock.
	PERFORM 1 FROM users u JOIN qualifications q ON q.evaluator_id = u.id
	WHERE q.path_id = p_path AND 'evaluator' = ANY (u.roles)
	ORDER BY u.id FOR NO KEY UPDATE OF u;
	SELECT array_agg(c.id ORDER BY c.id), array_agg(c.load ORDER BY c.id)
	INTO v_ids, v_loads
	FROM (SELECT u.id, api.open_load(p_kind, u.id) AS load
	      FROM users u JOIN qualifications q ON q.evaluator_id = u.id
	      WHERE q.path_id = p_path AND 'evaluator' = ANY (u.roles)
		AND u.id <> p_student AND u.id <> p_mentor
		AND NOT u.id = ANY (coalesce(p_exclude, '{}'))
		AND NOT EXISTS (SELECT 1 FROM conflicts k
				WHERE k.evaluator_id = u.id AND k.student_id = p_student)) c;
	IF v_ids IS NULL THEN
		RETURN;
	END IF;
	SELECT array_agg(id ORDER BY id) INTO v_lowest
	FROM unnest(v_ids, v_loads) AS t (id, load)
	WHERE load = (SELECT min(l) FROM unnest(v_loads) l);
	pick := v_lowest[1 + api.draw_index(p_seed, cardinality(v_lowest))];
	INSERT INTO draws (kind, seed, candidates, loads, pick)
	VALUES (p_kind, p_seed, v_ids, v_loads, pick)
	RETURNING id INTO draw_id;
END
$$;

------------------------------------------------------------------------
-- Paths, qualifications, conflicts
------------------------------------------------------------------------

-- POST /v1/paths (admin, pedagogy)
CREATE FUNCTION api.path_create(p_token text, p_request_id text, p_body jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_path bigint;
	v_project bigint;
	j jsonb;
	s jsonb;
	i int := 0;
	k int;
BEGIN
	a := api.authorize(p_token, '{admin,pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	INSERT INTO paths (code, title) VALUES (p_body ->> 'code', p_body ->> 'title')
	ON CONFLICT (code) DO NOTHING RETURNING id INTO v_path;
	IF v_path IS NULL THEN
		status := 409; body := api.err('a path with this code already exists', 'code'); RETURN;
	END IF;
	FOR j IN SELECT * FROM jsonb_array_elements(p_body -> 'projects') LOOP
		INSERT INTO projects (path_id, position, code, title)
		VALUES (v_path, i + 1, j ->> 'code', j ->> 'title')
		ON CONFLICT (path_id, code) WHERE enrollment_id IS NULL DO NOTHING
		RETURNING id INTO v_project;
		IF v_project IS NULL THEN
			-- the whole path is rolled back by the raised error
			RAISE EXCEPTION USING ERRCODE = 'P0422', MESSAGE = format('projects[%s].code', i),
			    DETAIL = 'names a project already listed in this path';
		END IF;
		k := 0;
		FOR s IN SELECT * FROM jsonb_array_elements(j -> 'skills') LOOP
			BEGIN
				INSERT INTO skills (project_id, code, title)
				VALUES (v_project, s ->> 'code', s ->> 'title');
			EXCEPTION WHEN unique_violation THEN
				RAISE EXCEPTION USING ERRCODE = 'P0422',
				    MESSAGE = format('projects[%s].skills[%s].code', i, k),
				    DETAIL = 'names a skill already listed in this project';
			END;
			k := k + 1;
		END LOOP;
		i := i + 1;
	END LOOP;
	PERFORM api.audit(a.user_id, p_request_id, 'path.create', 'path', v_path,
	    jsonb_build_object('code', p_body ->> 'code'));
	status := 201;
	body := api.path_json(v_path)::json;
EXCEPTION WHEN SQLSTATE 'P0422' THEN
	-- a duplicate inside the body: nothing of this path remains
	DECLARE
		v_field text;
		v_detail text;
	BEGIN
		GET STACKED DIAGNOSTICS v_field = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
		status := 422; body := api.err(v_detail, v_field);
	END;
END
$$;

-- GET /v1/paths (any user)
CREATE FUNCTION api.path_list(p_token text, p_request_id text,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, NULL);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(json_build_object('id', p.id, 'code', p.code,
	    'title', p.title, 'projects', (SELECT count(*) FROM projects j
					   WHERE j.path_id = p.id AND j.enrollment_id IS NULL)) ORDER BY p.id), '[]')
	INTO body FROM paths p;
END
$$;

-- GET /v1/paths/{id} (any user)
CREATE FUNCTION api.path_get(p_token text, p_request_id text, p_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, NULL);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	body := api.path_json(p_id)::json;
	status := CASE WHEN body IS NULL THEN 404 ELSE 200 END;
	IF body IS NULL THEN
		body := api.err('no such path');
	END IF;
END
$$;

-- POST /v1/users/{id}/qualifications (admin, pedagogy)
CREATE FUNCTION api.qualification_create(p_token text, p_request_id text,
	p_user bigint, p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_roles text[];
	v_path bigint := (p_body ->> 'path_id')::bigint;
	q qualifications;
BEGIN
	a := api.authorize(p_token, '{admin,pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT roles INTO v_roles FROM users WHERE id = p_user;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such user'); RETURN;
	ELSIF NOT 'evaluator' = ANY (v_roles) THEN
		status := 409; body := api.err('this user does not hold the evaluator role'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM paths WHERE id = v_path) THEN
		status := 422; body := api.err('no such path', 'path_id'); RETURN;
	END IF;
	INSERT INTO qualifications (evaluator_id, path_id) VALUES (p_user, v_path)
	ON CONFLICT DO NOTHING RETURNING * INTO q;
	IF q.evaluator_id IS NULL THEN
		status := 409; body := api.err('this evaluator is already qualified for this path', 'path_id'); RETURN;
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'qualification.create', 'user', p_user,
	    jsonb_build_object('path_id', v_path));
	status := 201;
	body := json_build_object('evaluator_id', q.evaluator_id, 'path_id', q.path_id,
	    'created_at', q.created_at);
END
$$;

-- POST /v1/conflicts (admin, pedagogy)
CREATE FUNCTION api.conflict_create(p_token text, p_request_id text, p_body jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_evaluator bigint := (p_body ->> 'evaluator_id')::bigint;
	v_student bigint := (p_body ->> 'student_id')::bigint;
	c conflicts;
BEGIN
	a := api.authorize(p_token, '{admin,pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = v_evaluator AND 'evaluator' = ANY (roles)) THEN
		status := 422; body := api.err('no evaluator has this id', 'evaluator_id'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM users WHERE id = v_student AND 'student' = ANY (roles)) THEN
		status := 422; body := api.err('no student has this id', 'student_id'); RETURN;
	END IF;
	INSERT INTO conflicts (evaluator_id, student_id, reason)
	VALUES (v_evaluator, v_student, p_body ->> 'reason')
	ON CONFLICT DO NOTHING RETURNING * INTO c;
	IF c.id IS NULL THEN
		status := 409; body := api.err('this conflict is already declared'); RETURN;
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'conflict.create', 'conflict', c.id,
	    jsonb_build_object('evaluator_id', v_evaluator, 'student_id', v_student));
	status := 201;
	body := json_build_object('id', c.id, 'evaluator_id', c.evaluator_id,
	    'student_id', c.student_id, 'reason', c.reason, 'created_at', c.created_at);
END
$$;

------------------------------------------------------------------------
-- Enrollments and notes
------------------------------------------------------------------------

-- POST /v1/enrollments (admin, pedagogy)
CREATE FUNCTION api.enrollment_create(p_token text, p_request_id text, p_body jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_student bigint := (p_body ->> 'student_id')::bigint;
	v_mentor bigint := (p_body ->> 'mentor_id')::bigint;
	v_path bigint := (p_body ->> 'path_id')::bigint;
	v_codes text[];
	v_kind text := CASE WHEN p_body ? 'projects' THEN 'certificate' ELSE 'diploma' END;
	v_id bigint;
	v_bad int;
BEGIN
	a := api.authorize(p_token, '{admin,pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = v_student AND 'student' = ANY (roles)) THEN
		status := 422; body := api.err('no student has this id', 'student_id'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM users WHERE id = v_mentor AND 'mentor' = ANY (roles)) THEN
		status := 422; body := api.err('no mentor has this id', 'mentor_id'); RETURN;
	ELSIF v_mentor = v_student THEN
		status := 422; body := api.err('a student cannot be their own mentor', 'mentor_id'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM paths WHERE id = v_path) THEN
		status := 422; body := api.err('no such path', 'path_id'); RETURN;
	END IF;
	IF v_kind = 'certificate' THEN
		v_codes := ARRAY(SELECT jsonb_array_elements_text(p_body -> 'projects'));
		SELECT min(o - 1) INTO v_bad
		FROM unnest(v_codes) WITH ORDINALITY AS t (code, o)
		WHERE NOT EXISTS (SELECT 1 FROM projects j WHERE j.path_id = v_path AND j.code = t.code
				  AND j.enrollment_id IS NULL)
		   OR o > (SELECT min(o2) FROM unnest(v_codes) WITH ORDINALITY AS t2 (code2, o2)
			   WHERE t2.code2 = t.code);
		IF v_bad IS NOT NULL THEN
			status := 422;
			body := api.err('names no project of this path, or one already named',
			    format('projects[%s]', v_bad));
			RETURN;
		END IF;
	ELSE
		v_codes := ARRAY(SELECT code FROM projects WHERE path_id = v_path AND enrollment_id IS NULL);
		IF cardinality(v_codes) = 0 THEN
			status := 422; body := api.err('this path has no project', 'path_id'); RETURN;
		END IF;
	END IF;
	-- one running certificate per student and path when it starts (the
	-- index guards diplomas; a reopened certificate may overlap a new one)
	PERFORM pg_advisory_xact_lock(7263542, v_student::int);
	IF v_kind = 'certificate' AND EXISTS (SELECT 1 FROM enrollments
	    WHERE student_id = v_student AND path_id = v_path AND kind = 'certificate'
	      AND state IN ('in_progress', 'awaiting_jury')) THEN
		status := 409;
		body := api.err('this student already has a running certificate enrollment on this path');
		RETURN;
	END IF;
	INSERT INTO enrollments (student_id, path_id, mentor_id, kind)
	VALUES (v_student, v_path, v_mentor, v_kind)
	ON CONFLICT DO NOTHING RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		status := 409;
		body := api.err('this student already has a running diploma enrollment on this path');
		RETURN;
	END IF;
	-- the first project opens with the mentor; the others wait their turn
	INSERT INTO attempts (enrollment_id, project_id, position, state)
	SELECT v_id, j.id, j.position,
	       CASE WHEN row_number() OVER (ORDER BY j.position) = 1
		    THEN 'mentoring' ELSE 'pending' END
	FROM projects j WHERE j.path_id = v_path AND j.code = ANY (v_codes) AND j.enrollment_id IS NULL;
	PERFORM api.audit(a.user_id, p_request_id, 'enrollment.create', 'enrollment', v_id,
	    jsonb_build_object('student_id', v_student, 'mentor_id', v_mentor,
		'path_id', v_path, 'kind', v_kind, 'projects', v_codes));
	status := 201;
	body := api.enrollment_json(v_id)::json;
END
$$;

-- Authenticates a reader of enrollment P_ID: the student, their mentor,
-- pedagogy or admin. Anyone else gets the same 404 as for a missing one.
CREATE FUNCTION api.authorize_enrollment_reader(p_token text, p_id bigint,
	OUT user_id bigint, OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	e enrollments;
BEGIN
	a := api.authorize(p_token, NULL);
	user_id := a.user_id; status := a.status; body := a.body;
	IF a.status <> 0 THEN
		RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = p_id;
	IF NOT FOUND OR NOT api.can_read_enrollment(a.user_id, a.roles, e) THEN
		status := 404; body := api.err('no such enrollment');
	END IF;
END
$$;

-- GET /v1/enrollments/{id} (the student, their mentor, pedagogy, admin; 404 to others)
CREATE FUNCTION api.enrollment_get(p_token text, p_request_id text, p_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize_enrollment_reader(p_token, p_id);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	body := api.enrollment_json(p_id)::json;
END
$$;

-- POST /v1/enrollments/{id}/notes (this enrollment's mentor)
CREATE FUNCTION api.note_create(p_token text, p_request_id text, p_enrollment bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	e enrollments;
	n notes;
BEGIN
	a := api.authorize(p_token, '{mentor}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = p_enrollment FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such enrollment'); RETURN;
	ELSIF e.mentor_id <> a.user_id THEN
		status := 403; body := api.err('only this enrollment''s mentor writes its notes'); RETURN;
	ELSIF e.state <> 'in_progress' THEN
		status := 409; body := api.err(format('the enrollment is %s', e.state)); RETURN;
	END IF;
	INSERT INTO notes (enrollment_id, author_id, week, progress, body, at_risk)
	VALUES (p_enrollment, a.user_id, p_body ->> 'week', (p_body ->> 'progress')::int,
		p_body ->> 'body', (p_body ->> 'at_risk')::boolean)
	ON CONFLICT (enrollment_id, week) DO NOTHING
	RETURNING * INTO n;
	IF n.id IS NULL THEN
		status := 409; body := api.err('this week already has a note', 'week'); RETURN;
	END IF;
	UPDATE enrollments SET last_note_at = n.created_at,
	    last_note_week = greatest(last_note_week, n.week),
	    last_note_at_risk = CASE WHEN last_note_week IS NULL OR n.week >= last_note_week
				     THEN n.at_risk ELSE last_note_at_risk END
	WHERE id = p_enrollment;
	PERFORM api.audit(a.user_id, p_request_id, 'note.create', 'note', n.id,
	    jsonb_build_object('enrollment_id', p_enrollment, 'week', n.week,
		'at_risk', n.at_risk));
	status := 201;
	body := json_build_object('id', n.id, 'enrollment_id', n.enrollment_id,
	    'week', n.week, 'progress', n.progress, 'body', n.body, 'at_risk', n.at_risk,
	    'author_id', n.author_id, 'created_at', n.created_at);
END
$$;

-- GET /v1/enrollments/{id}/notes (the student, the mentor, pedagogy, admin)
CREATE FUNCTION api.note_list(p_token text, p_request_id text, p_enrollment bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize_enrollment_reader(p_token, p_enrollment);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(json_build_object('id', n.id, 'week', n.week,
	    'progress', n.progress, 'body', n.body, 'at_risk', n.at_risk,
	    'author_id', n.author_id, 'created_at', n.created_at) ORDER BY n.week), '[]')
	INTO body FROM notes n WHERE n.enrollment_id = p_enrollment;
END
$$;

-- GET /v1/alerts (pedagogy, admin): running enrollments whose latest note
-- is at risk, or without a note for more than P_GAP_DAYS.
CREATE FUNCTION api.alert_list(p_token text, p_request_id text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	p_gap_days int := (p_settings ->> 'note_gap_days')::int;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(json_build_object('enrollment_id', e.id,
	    'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id,
	    'reason', CASE WHEN e.last_note_at_risk THEN 'at_risk' ELSE 'no_recent_note' END,
	    'last_note_week', e.last_note_week, 'last_note_at', e.last_note_at,
	    'detail', CASE WHEN e.last_note_at_risk
			   THEN 'the latest weekly note says the student is at risk'
			   ELSE format('no weekly note for more than %s days', p_gap_days) END)
	    ORDER BY e.id), '[]')
	INTO body
	FROM enrollments e
	WHERE e.state = 'in_progress'
	  AND (e.last_note_at_risk
	       OR coalesce(e.last_note_at, e.created_at) < now() - make_interval(days => p_gap_days));
END
$$;

------------------------------------------------------------------------
-- Handover, defenses, verdicts
------------------------------------------------------------------------

-- POST /v1/attempts/{id}/handover (this enrollment's mentor)
CREATE FUNCTION api.attempt_handover(p_token text, p_request_id text, p_attempt bigint,
	p_body jsonb, p_seed text, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	p_due_days int := (p_settings ->> 'defense_due_days')::int;
	a record;
	t attempts;
	e enrollments;
	v_next text;
	dr record;
	d defenses;
BEGIN
	a := api.authorize(p_token, '{mentor}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO t FROM attempts WHERE id = p_attempt FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such attempt'); RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	IF e.mentor_id <> a.user_id THEN
		status := 403; body := api.err('only this enrollment''s mentor hands its projects over'); RETURN;
	END IF;
	IF e.state <> 'in_progress' THEN
		status := 409; body := api.err(format('the enrollment is %s', e.state)); RETURN;
	END IF;
	v_next := api.transition('attempt', t.state, 'handover', 'mentor');
	IF v_next IS NULL THEN
		status := 409;
		body := api.err(format('the attempt is %s; a handover is possible only from mentoring', t.state));
		RETURN;
	END IF;
	dr := api.draw_evaluator('defense', e.path_id, e.student_id, e.mentor_id,
	    api.attempt_reviewers(t.id), decode(p_seed, 'hex'));
	IF dr.pick IS NULL THEN
		status := 409;
		body := api.err('no eligible evaluator: none is qualified for this path '
		    'without being the student, their mentor or in declared conflict');
		RETURN;
	END IF;
	UPDATE attempts SET state = v_next, round = round + 1, updated_at = now()
	WHERE id = p_attempt RETURNING * INTO t;
	INSERT INTO deliverables (attempt_id, round, title, uri, sha256)
	SELECT p_attempt, t.round, x ->> 'title', x ->> 'uri', lower(x ->> 'sha256')
	FROM jsonb_array_elements(p_body -> 'deliverables') x;
	INSERT INTO defenses (attempt_id, round, evaluator_id, draw_id, due_at)
	VALUES (p_attempt, t.round, dr.pick, dr.draw_id,
		now() + make_interval(days => p_due_days))
	RETURNING * INTO d;
	PERFORM api.audit(a.user_id, p_request_id, 'attempt.handover', 'attempt', p_attempt,
	    jsonb_build_object('round', t.round, 'defense_id', d.id,
		'evaluator_id', d.evaluator_id, 'draw_id', dr.draw_id));
	status := 200;
	body := json_build_object('attempt_id', t.id, 'state', t.state, 'round', t.round,
	    'defense', json_build_object('id', d.id, 'evaluator_id', d.evaluator_id,
		'due_at', d.due_at));
END
$$;

-- The pending defenses of one evaluator, or of everyone (P_EVALUATOR NULL).
CREATE FUNCTION api.pending_defenses_json(p_evaluator bigint) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT coalesce(json_agg(json_build_object('id', d.id, 'attempt_id', d.attempt_id,
	    'round', d.round, 'evaluator_id', d.evaluator_id, 'due_at', d.due_at,
	    'enrollment_id', e.id,
	    'student', json_build_object('id', u.id, 'name', u.name),
	    'project', json_build_object('code', j.code, 'title', j.title,
		'skills', (SELECT coalesce(json_agg(json_build_object('code', s.code,
			    'title', s.title) ORDER BY s.id), '[]')
			   FROM skills s WHERE s.project_id = j.id)),
	    'deliverables', api.deliverables_json(t.id, d.round)) ORDER BY d.due_at, d.id), '[]')
	FROM defenses d
	JOIN attempts t ON t.id = d.attempt_id
	JOIN enrollments e ON e.id = t.enrollment_id
	JOIN users u ON u.id = e.student_id
	JOIN projects j ON j.id = t.project_id
	WHERE d.state = 'pending' AND (p_evaluator IS NULL OR d.evaluator_id = p_evaluator)
$$;

-- GET /v1/defenses?mine=1 (evaluator); without mine: every pending defense (pedagogy, admin)
CREATE FUNCTION api.defense_list(p_token text, p_request_id text, p_query jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	v_mine boolean := coalesce(p_query ->> 'mine', '0') IN ('1', 'true');
BEGIN
	a := api.authorize(p_token, CASE WHEN v_mine THEN '{evaluator}'::text[]
				      ELSE '{pedagogy,admin}'::text[] END);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	body := api.pending_defenses_json(CASE WHEN v_mine THEN a.user_id END);
END
$$;

-- Called in the verdict's transaction once it is recorded; 0003 (double-blind
-- review) replaces it to sample the verdict for a review.
CREATE FUNCTION api.after_verdict(d defenses, p_request_id text, p_sample_seed bytea,
	p_draw_seed bytea, p_settings jsonb)
RETURNS void LANGUAGE sql AS $$ SELECT $$;

-- Checks a verdict's per-skill results against PROJECT: every skill exactly
-- once, and "validated" only with every skill acquired. NULL when fine, else
-- the error body naming the field.
CREATE FUNCTION api.skills_problem(p_project bigint, p_skills jsonb, p_verdict text)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_bad text;
BEGIN
	SELECT format('skills[%s].code', o - 1) INTO v_bad
	FROM jsonb_array_elements(p_skills) WITH ORDINALITY AS x (s, o)
	WHERE NOT EXISTS (SELECT 1 FROM skills k WHERE k.project_id = p_project
			  AND k.code = x.s ->> 'code')
	   OR o > (SELECT min(o2) FROM jsonb_array_elements(p_skills)
		   WITH ORDINALITY AS y (s2, o2) WHERE y.s2 ->> 'code' = x.s ->> 'code')
	ORDER BY o LIMIT 1;
	IF v_bad IS NOT NULL THEN
		RETURN api.err('names no skill of this project, or one already named', v_bad);
	END IF;
	SELECT string_agg(k.code, ', ' ORDER BY k.id) INTO v_bad
	FROM skills k WHERE k.project_id = p_project
	  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_skills) x
			  WHERE x ->> 'code' = k.code);
	IF v_bad IS NOT NULL THEN
		RETURN api.err('every skill of the project must be listed; missing: ' || v_bad, 'skills');
	END IF;
	IF p_verdict = 'validated' AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_skills) x
					      WHERE NOT (x ->> 'acquired')::boolean) THEN
		RETURN api.err('validated requires every skill acquired', 'verdict');
	END IF;
	RETURN NULL;
END
$$;

-- POST /v1/defenses/{id}/verdict (the assigned evaluator)
CREATE FUNCTION api.defense_verdict(p_token text, p_request_id text, p_defense bigint,
	p_body jsonb, p_sample_seed text, p_draw_seed text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	d defenses;
	t attempts;
	e enrollments;
	v_verdict text := p_body ->> 'verdict';
	v_event text := 'verdict_' || v_verdict;
	v_next text;
	v_problem json;
	v_open attempts;
	v_enrollment_next text;
BEGIN
	a := api.authorize(p_token, '{evaluator}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = p_defense;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such defense'); RETURN;
	END IF;
	-- lock the attempt first, as every transition of it does
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id FOR UPDATE;
	SELECT * INTO d FROM defenses WHERE id = p_defense FOR UPDATE;
	-- lock order everywhere: attempt, defense, enrollment
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id FOR UPDATE;
	IF d.evaluator_id <> a.user_id THEN
		status := 403; body := api.err('only the evaluator drawn for this defense records its verdict'); RETURN;
	ELSIF d.state <> 'pending' THEN
		status := 409; body := api.err('this defense already has a verdict'); RETURN;
	ELSIF e.state <> 'in_progress' THEN
		status := 409; body := api.err(format('the enrollment is %s', e.state)); RETURN;
	END IF;
	v_next := api.transition('attempt', t.state, v_event, 'evaluator');
	IF v_next IS NULL THEN
		status := 409; body := api.err(format('the attempt is %s', t.state)); RETURN;
	END IF;
	v_problem := api.skills_problem(t.project_id, p_body -> 'skills', v_verdict);
	IF v_problem IS NOT NULL THEN
		status := 422; body := v_problem; RETURN;
	END IF;

	UPDATE defenses SET state = 'decided', verdict = v_verdict,
	    comment = p_body ->> 'comment', recording_uri = p_body #>> '{recording,uri}',
	    recording_sha256 = lower(p_body #>> '{recording,sha256}'), decided_at = now()
	WHERE id = p_defense RETURNING * INTO d;
	INSERT INTO defense_skills (defense_id, skill_id, acquired)
	SELECT p_defense, k.id, (x ->> 'acquired')::boolean
	FROM jsonb_array_elements(p_body -> 'skills') x
	JOIN skills k ON k.project_id = t.project_id AND k.code = x ->> 'code';
	UPDATE attempts SET state = v_next, updated_at = now() WHERE id = t.id RETURNING * INTO t;
	PERFORM api.audit(a.user_id, p_request_id, 'defense.verdict', 'defense', p_defense,
	    jsonb_build_object('verdict', v_verdict, 'attempt_id', t.id, 'attempt_state', t.state));
	PERFORM api.after_verdict(d, p_request_id, decode(p_sample_seed, 'hex'),
	    decode(p_draw_seed, 'hex'), p_settings);

	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id FOR UPDATE;
	IF v_verdict = 'validated' THEN
		-- the next project opens with the mentor, or the enrollment is complete
		SELECT * INTO v_open FROM attempts
		WHERE enrollment_id = e.id AND state = 'pending'
		ORDER BY position LIMIT 1 FOR UPDATE;
		IF FOUND THEN
			UPDATE attempts SET state = api.transition('attempt', 'pending', 'open', 'system'),
			    updated_at = now()
			WHERE id = v_open.id;
			PERFORM api.audit(NULL, p_request_id, 'attempt.open', 'attempt', v_open.id,
			    jsonb_build_object('enrollment_id', e.id));
		ELSIF NOT EXISTS (SELECT 1 FROM attempts WHERE enrollment_id = e.id
				  AND state <> 'validated') THEN
			v_enrollment_next := api.transition('enrollment', e.state,
			    'complete_' || e.kind, 'system');
			IF v_enrollment_next IS NOT NULL THEN
				UPDATE enrollments SET state = v_enrollment_next, updated_at = now()
				WHERE id = e.id RETURNING * INTO e;
				PERFORM api.audit(NULL, p_request_id, 'enrollment.' || e.state,
				    'enrollment', e.id, jsonb_build_object('kind', e.kind));
			END IF;
		END IF;
	END IF;
	status := 200;
	body := json_build_object('defense', api.defense_json(d),
	    'attempt', json_build_object('id', t.id, 'state', t.state, 'round', t.round),
	    'enrollment', json_build_object('id', e.id, 'state', e.state));
END
$$;

-- Gives defense D a new evaluator (not the current one) and records the
-- miss. Shared by the reassign route and the deadline scanner (actor NULL).
CREATE FUNCTION api.defense_reassign_as(p_actor bigint, p_role text, p_request_id text,
	p_defense bigint, p_seed text, p_due_days int, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	d defenses;
	t attempts;
	e enrollments;
	dr record;
	v_old bigint;
BEGIN
	SELECT * INTO d FROM defenses WHERE id = p_defense;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such defense'); RETURN;
	END IF;
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id FOR UPDATE;
	SELECT * INTO d FROM defenses WHERE id = p_defense FOR UPDATE;
	IF d.state <> 'pending' THEN
		status := 409; body := api.err('the defense is decided; only a pending defense is reassigned');
		RETURN;
	ELSIF api.transition('attempt', t.state, 'reassign', p_role) IS NULL THEN
		status := 409; body := api.err(format('the attempt is %s', t.state));
		RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	dr := api.draw_evaluator('defense', e.path_id, e.student_id, e.mentor_id,
	    d.evaluator_id || api.attempt_reviewers(t.id), decode(p_seed, 'hex'));
	IF dr.pick IS NULL THEN
		status := 409;
		body := api.err('no other eligible evaluator for this defense');
		RETURN;
	END IF;
	v_old := d.evaluator_id;
	INSERT INTO evaluator_misses (evaluator_id, defense_id, kind)
	VALUES (v_old, d.id, CASE WHEN d.due_at <= now() THEN 'deadline' ELSE 'reassigned' END);
	UPDATE defenses SET evaluator_id = dr.pick, draw_id = dr.draw_id,
	    due_at = now() + make_interval(days => p_due_days)
	WHERE id = p_defense RETURNING * INTO d;
	PERFORM api.audit(p_actor, p_request_id, 'defense.reassign', 'defense', d.id,
	    jsonb_build_object('from_evaluator_id', v_old, 'evaluator_id', d.evaluator_id,
		'draw_id', dr.draw_id, 'by', p_role));
	status := 200;
	body := json_build_object('id', d.id, 'attempt_id', d.attempt_id, 'round', d.round,
	    'evaluator_id', d.evaluator_id, 'previous_evaluator_id', v_old,
	    'due_at', d.due_at, 'draw_id', dr.draw_id);
END
$$;

-- POST /v1/defenses/{id}/reassign (pedagogy)
CREATE FUNCTION api.defense_reassign(p_token text, p_request_id text, p_defense bigint,
	p_body jsonb, p_seed text, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT r.status, r.body INTO status, body
	FROM api.defense_reassign_as(a.user_id, 'pedagogy', p_request_id, p_defense,
	    p_seed, (p_settings ->> 'defense_due_days')::int) r;
END
$$;

-- The deadline scanner's step (certflowd's timer): reassigns the most
-- overdue pending defense, if any. One instance at a time works (advisory
-- lock), and SKIP LOCKED leaves defenses that a request holds. 204 = nothing
-- to do; a defense without another eligible evaluator gets one more day.
CREATE FUNCTION api.reassign_overdue(p_request_id text, p_seed text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_id bigint;
BEGIN
	IF NOT pg_try_advisory_xact_lock(7263541002) THEN
		status := 204; RETURN;
	END IF;
	-- the attempt first, as every transition of a defense locks it
	SELECT d.id INTO v_id FROM defenses d JOIN attempts t ON t.id = d.attempt_id
	JOIN enrollments e ON e.id = t.enrollment_id
	WHERE d.state = 'pending' AND d.due_at <= now() AND e.state = 'in_progress'
	ORDER BY d.due_at LIMIT 1 FOR UPDATE OF t SKIP LOCKED;
	IF v_id IS NULL THEN
		status := 204; RETURN;
	END IF;
	SELECT r.status, r.body INTO status, body
	FROM api.defense_reassign_as(NULL, 'system', p_request_id, v_id, p_seed,
	    (p_settings ->> 'defense_due_days')::int) r;
	IF status = 409 THEN
		UPDATE defenses SET due_at = now() + interval '1 day' WHERE id = v_id;
		PERFORM api.audit(NULL, p_request_id, 'defense.overdue', 'defense', v_id,
		    jsonb_build_object('detail', 'no other eligible evaluator; retried in a day'));
	END IF;
END
$$;
