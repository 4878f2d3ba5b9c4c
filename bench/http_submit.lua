-- wrk script for the HTTP submit benchmark (bench/http_submit.py runs it):
--   wrk ... -s http_submit.lua <url> -- <token> <key prefix> <first urn> <schools> <contract end>
--   wrk ... -s http_submit.lua <url> -- health
-- Every request is a new demand line: its own Idempotency-Key, schools in turn; or, with
-- `health`, the same server's trivial GET /health (the baseline). At the end it prints one JSON
-- line with the totals the harness reads.

local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

local token, prefix, first_urn, schools, contract_end
local health = false
local sent = 0

function init(args)
  if args[1] == "health" then
    health = true
    return
  end
  token, prefix = args[1], args[2]
  first_urn, schools, contract_end = tonumber(args[3]), tonumber(args[4]), args[5]
end

function request()
  if health then
    return wrk.format("GET", "/health")
  end
  sent = sent + 1
  local body = string.format(
    '{"school_urn": "%06d", "category": "electricity", "quantity": "%d", "unit": "kWh",'
      .. ' "current_unit_price": "0.2750", "contract_end": "%s", "term_months": 24}',
    first_urn + sent % schools, 10000 + sent % 5000, contract_end)
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", prefix, thread_id, sent),
  }
  return wrk.format("POST", "/v1/demands", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect_errors": %d,'
      .. ' "read_errors": %d, "write_errors": %d, "timeouts": %d,'
      .. ' "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
