-- What every wrk script of the bench shares (loaded with dofile): per-thread counts of each
-- HTTP status and of each X-Served-By / X-Strangler-Fallback value, and done(), which
-- prints one line "BENCHJSON {...}": requests, duration, socket errors, those counts, and
-- the latency distribution (microseconds) the bench reads.

statuses = {}
served_by = {}
fallbacks = 0

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local server = headers["X-Served-By"] or "-"
  served_by[server] = (served_by[server] or 0) + 1
  if headers["X-Strangler-Fallback"] then
    fallbacks = fallbacks + 1
  end
end

local function counts(name, format)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get(name)) do
      total[key] = (total[key] or 0) + count
    end
  end
  local parts = {}
  for key, count in pairs(total) do
    table.insert(parts, string.format(format, key, count))
  end
  return table.concat(parts, ", ")
end

function done(summary, latency, requests)
  local fallen_back = 0
  for _, thread in ipairs(threads) do
    fallen_back = fallen_back + thread:get("fallbacks")
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
      .. '"stdev": %.1f, "max": %d, "percentiles": [%s]}, "served_by": {%s}, "fallbacks": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    counts("statuses", '"%d": %d'), latency.min, latency.mean, latency.stdev, latency.max, table.concat(points, ", "),
    counts("served_by", '"%s": %d'), fallen_back
  ))
end
