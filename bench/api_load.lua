-- wrk script of figure 5: POST one JSON payment per request as a randomly chosen member.
--
--   wrk -t1 -c16 -d30s -s bench/api_load.lua http://127.0.0.1:PORT -- <path> <actors file> <idempotency 0|1>
--
-- The actors file has one "<member token> <merchant id>" line per funded member. Each
-- request picks a member at random, so the load spreads over their rows as real traffic
-- does. With idempotency 1 every request carries its own Idempotency-Key. done() prints
-- one line "BENCHJSON {...}": requests, duration, socket errors, the count of each HTTP
-- status, and the latency distribution (microseconds) the bench reads.

local path, with_key, prefix
local actors = {}
local sent = 0
statuses = {}

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  with_key = args[3] == "1"
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  prefix = string.format("bench-%d-%d-%d-", os.time(), thread_number or 0, math.random(1, 1000000000))
  for line in io.lines(args[2]) do
    local token, merchant = line:match("^(%S+)%s+(%S+)$")
    if token then
      local body = string.format('{"merchant_id": "%s", "amount": 1000, "description": "bench"}', merchant)
      local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
      table.insert(actors, { headers = headers, body = body, request = wrk.format("POST", path, headers, body) })
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

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local points = {}
  local quantiles = {}
  for q = 1, 99 do
    table.insert(quantiles, q)
  end
  for _, q in ipairs({ 99.5, 99.9, 99.99 }) do
    table.insert(quantiles, q)
  end
  for _, q in ipairs(quantiles) do
    table.insert(points, string.format("[%g, %d]", q, latency:percentile(q)))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "statuses": {%s}, "latency_us": {"min": %d, "mean": %.1f, '
      .. '"stdev": %.1f, "max": %d, "percentiles": [%s]}}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    table.concat(parts, ", "), latency.min, latency.mean, latency.stdev, latency.max, table.concat(points, ", ")
  ))
end
