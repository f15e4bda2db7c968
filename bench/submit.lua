-- wrk script: POST callback requests with a fresh valid number each time.
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
request = function()
  counter = counter + 1
  local number = string.format("+7916%07d", (counter * 7919 + math.random(0, 999)) % 10000000)
  local body = '{"phone":"' .. number .. '","consent":true,"group":"101"}'
  return wrk.format(nil, nil, nil, body)
end
