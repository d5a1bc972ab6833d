-- wrk script for bench/webhook.py's throughput benchmark: posts registry notification envelopes
-- built from real captured events (templates written by bench/webhook.py into intake_events.lua),
-- each event with a fresh id, each cycle through the templates in a repository of its own (so
-- pushes create repositories and deletes find them, as a registry's traffic would).
-- Each response's counts are summed per thread and printed by done().

local templates = dofile(os.getenv("INTAKE_TEMPLATES"))
local per_envelope = tonumber(os.getenv("INTAKE_BATCH") or "10")
local run = os.getenv("INTAKE_RUN") or "run"
local threads = {}
local counter = 0
local thread_id = 0
recorded, duplicates, ignored, rejected, accepted, failed = 0, 0, 0, 0, 0, 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/vnd.docker.distribution.events.v1+json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("INTAKE_SECRET")
end

function request()
  local events = {}
  for i = 1, per_envelope do
    local n = counter
    counter = counter + 1
    local cycle = math.floor(n / #templates)
    local template = templates[(n % #templates) + 1]
    local id = string.format("%s-%d-%d", run, thread_id, n)
    local repo = string.format("r%d-%d-%d", thread_id, cycle, n % 3)
    events[i] = template:gsub("@ID@", id):gsub("@REPO@", repo)
  end
  return wrk.format(nil, nil, nil, '{"events": [' .. table.concat(events, ",") .. ']}')
end

function response(status, headers, body)
  if status ~= 202 then
    failed = failed + 1
    return
  end
  accepted = accepted + 1
  recorded = recorded + tonumber(body:match('"recorded": *(%d+)') or 0)
  duplicates = duplicates + tonumber(body:match('"duplicates": *(%d+)') or 0)
  ignored = ignored + tonumber(body:match('"ignored": *(%d+)') or 0)
end

function done(summary, latency, requests)
  local totals = {recorded = 0, duplicates = 0, ignored = 0, accepted = 0, failed = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + thread:get(key)
    end
  end
  io.write(string.format(
    "INTAKE {\"accepted\": %d, \"failed\": %d, \"recorded\": %d, \"duplicates\": %d, " ..
    "\"ignored\": %d, \"per_envelope\": %d, \"seconds\": %f, \"p50_ms\": %f, \"p99_ms\": %f}\n",
    totals.accepted, totals.failed, totals.recorded, totals.duplicates, totals.ignored,
    per_envelope, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
