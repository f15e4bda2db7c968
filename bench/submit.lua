-- wrk script: POST callback requests, each for a number no other request used.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local counter = 0
local tid = 0
function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
request = function()
  counter = counter + 1
  -- 7919 is coprime with 10^7, so (n * 7919) mod 10^7 never repeats for n < 10^7.
  local n = (counter * 16 + tid) * 7919 % 10000000
  local body = '{"phone":"+7916' .. string.format("%07d", n) .. '","consent":true,"group":"101"}'
  return wrk.format(nil, nil, nil, body)
end
