-- wrk script of serve/api-*: an optional JSON POST body (WRK_BODY), and one JSON line at the end
-- with the counts and the p99 latency, for bench/serve/api.ts to read.
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p99_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
