-- verdict_cycle.lua - wrk script: the handover-plus-verdict cycle.
-- POST /v1/attempts/{id}/handover (the mentor; certflowd draws an evaluator
-- and opens a defense), then POST /v1/defenses/{id}/verdict by the drawn
-- evaluator, "needs improvement", which sends the attempt back to its mentor
-- for the next cycle. Each thread owns the attempts FIRST + STRIDE * k with
-- k = T mod NTHREADS (k < COUNT), in a queue starting at OFFSET; a handover's
-- answer queues its verdict, a verdict's answer queues the attempt again.
-- Verdicts go first, so each connection alternates between the two routes.
-- An answer that is not a 2xx loses its attempt (wrk counts it as non-2xx).
-- The evaluator's token comes from their id (scripts/seed-data's bench tokens).
--
--   wrk ... -s bench/wrk/verdict_cycle.lua URL -- FIRST STRIDE COUNT NTHREADS OFFSET \
--       MENTOR_TOKEN HANDOVER_BODY VERDICT_BODY

local counter = 0

function setup(thread)
	thread:set("index", counter)
	counter = counter + 1
end

local function token(uid)
	local t = string.format("bench%012d", uid)
	return "cf_" .. t .. string.rep("A", 43 - #t)
end

function init(args)
	local first, stride, count = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
	local nthreads, offset = tonumber(args[4]), tonumber(args[5])
	mentor, hbody, vbody = args[6], args[7], args[8]
	if not (first and stride and count and nthreads and offset and mentor and hbody and vbody) then
		io.stderr:write("verdict_cycle.lua: usage: wrk ... -s verdict_cycle.lua URL -- FIRST STRIDE COUNT NTHREADS OFFSET MENTOR_TOKEN HANDOVER_BODY VERDICT_BODY\n")
		os.exit(2)
	end
	ready, rhead, rtail = {}, 1, 0
	verdicts, vhead, vtail = {}, 1, 0
	local mine = {}
	for k = 0, count - 1 do
		if k % nthreads == (index or 0) then
			mine[#mine + 1] = first + stride * k
		end
	end
	for j = 0, #mine - 1 do
		rtail = rtail + 1
		ready[rtail] = mine[1 + (j + offset) % #mine]
	end
	idle = 0
end

function request()
	if vhead <= vtail then
		local v = verdicts[vhead]
		verdicts[vhead] = nil
		vhead = vhead + 1
		return wrk.format("POST", "/v1/defenses/" .. v[1] .. "/verdict",
		    { ["Authorization"] = "Bearer " .. token(v[2]),
		      ["Content-Type"] = "application/json" }, vbody)
	end
	if rhead <= rtail then
		local a = ready[rhead]
		ready[rhead] = nil
		rhead = rhead + 1
		return wrk.format("POST", "/v1/attempts/" .. a .. "/handover",
		    { ["Authorization"] = "Bearer " .. mentor,
		      ["Content-Type"] = "application/json" }, hbody)
	end
	-- every attempt of this thread is in flight (more connections than
	-- attempts): an unauthenticated request, answered 401 and counted
	idle = idle + 1
	return wrk.format("GET", "/v1/me")
end

function response(status, headers, body)
	local a = body:match('"attempt"%s*:%s*{%s*"id"%s*:%s*(%d+)')
	if a then
		rtail = rtail + 1
		ready[rtail] = a
		return
	end
	local d, ev = body:match('"defense"%s*:%s*{%s*"id"%s*:%s*(%d+)%s*,%s*"evaluator_id"%s*:%s*(%d+)')
	if d then
		vtail = vtail + 1
		verdicts[vtail] = { d, tonumber(ev) }
	end
end
