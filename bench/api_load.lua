-- wrk script of figure 5: POST one JSON payment per request as a randomly chosen member;
-- or, with the mode "read", GET that member's own page.
--
--   wrk -t1 -c16 -d30s -s bench/api_load.lua http://127.0.0.1:PORT -- <path> <actors file> <idempotency 0|1> [read]
--
-- The actors file has one "<member token> <merchant id>" line per funded member. Each
-- request picks a member at random, so the load spreads over their rows as real traffic
-- does. With idempotency 1 every request carries its own Idempotency-Key. In "read" mode
-- the lines are "<member token> <member id>" and the path's "{id}" becomes the member's id
-- (GET /api/v1/members/{id} with the member's own token). The counts and the BENCHJSON line
-- the bench reads come from wrk_report.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_report.lua")

local path, with_key, prefix
local actors = {}
local sent = 0

function init(args)
  path = args[1]
  with_key = args[3] == "1"
  local read = args[4] == "read"
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  prefix = string.format("bench-%d-%d-%d-", os.time(), thread_number or 0, math.random(1, 1000000000))
  for line in io.lines(args[2]) do
    local token, other = line:match("^(%S+)%s+(%S+)$")
    if token then
      local headers = { ["Authorization"] = "Bearer " .. token }
      if read then
        local page = path:gsub("{id}", other)
        table.insert(actors, { request = wrk.format("GET", page, headers) })
      else
        local body = string.format('{"merchant_id": "%s", "amount": 1000, "description": "bench"}', other)
        headers["Content-Type"] = "application/json"
        table.insert(actors, { headers = headers, body = body, request = wrk.format("POST", path, headers, body) })
      end
    end
  end
  if #actors == 0 then
    error("no actors in " .. args[2])
  end
end

function request()
  local actor = actors[math.random(#actors)]
  if not with_key then
    return actor.request
  end
  sent = sent + 1
  actor.headers["Idempotency-Key"] = prefix .. sent
  return wrk.format("POST", path, actor.headers, actor.body)
end
