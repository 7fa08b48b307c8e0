-- wrk script: GET /health (the HTTP path alone, no store).
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d rps=%.0f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
