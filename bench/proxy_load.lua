-- wrk script of figure 6: GET one path, either with a pre-signed identity per request or
-- with a member's bearer token.
--
--   wrk -t1 -c4 -d8s -s bench/proxy_load.lua http://127.0.0.1:PORT -- <path> <identities file> -
--   wrk -t1 -c4 -d8s -s bench/proxy_load.lua http://127.0.0.1:PORT -- <path> - <bearer token>
--
-- The identities file has one X-Blipay-Identity value per line, each with its own nonce:
-- they are sent in order, each once (a service accepts a nonce once). Running out sends
-- the first again, which the service refuses (401): the bench then marks the figure
-- invalid rather than measure refusals. Counts and the BENCHJSON line: wrk_report.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_report.lua")

local prepared = {}
local sent = 0

function init(args)
  local path, identities, token = args[1], args[2], args[3]
  if token ~= "-" then
    table.insert(prepared, wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token }))
  else
    for line in io.lines(identities) do
      if line ~= "" then
        table.insert(prepared, wrk.format("GET", path, { ["X-Blipay-Identity"] = line }))
      end
    end
  end
  if #prepared == 0 then
    error("nothing to send: no identities in " .. identities)
  end
end

function request()
  sent = sent + 1
  return prepared[(sent - 1) % #prepared + 1]
end
