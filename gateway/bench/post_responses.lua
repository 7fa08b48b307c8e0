-- wrk script: POST /v1/responses with a small input (each request stores
-- one response; the LRU bound keeps the table at max_responses rows).
wrk.method = "POST"
wrk.path = "/v1/responses"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"fdsoak-echo","input":"benchmark the echo agent"}'

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d rps=%.0f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
