-- wrk script for bench/scale.py: POST callback requests, each for a number no other request
-- of the run used, and print the p95 latency (wrk's own report stops at p90 and p99).
-- Argument: a block number 0-99, different for every wrk started in one run.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local counter = 0
local tid = 0
local block = 0
function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  block = tonumber(args[1]) or 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
request = function()
  counter = counter + 1
  -- 7919 is coprime with 10^5: no repeat within a block for fewer than 10^5 requests.
  local n = block * 100000 + (counter * 16 + tid) * 7919 % 100000
  local body = '{"phone":"+7916' .. string.format("%07d", n) .. '","consent":true,"group":"101"}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("P95_US %d\n", latency:percentile(95.0)))
end
