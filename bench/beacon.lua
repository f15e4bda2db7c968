-- wrk script: POST funnel beacons as navigator.sendBeacon sends them (text/plain JSON).
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
local counter = 0
request = function()
  counter = counter + 1
  local event = (counter % 5 == 0) and "open" or "impression"
  local body = '{"event":"' .. event .. '","variant":null,"path":"/catalog/' .. (counter % 20) .. '"}'
  return wrk.format(nil, nil, nil, body)
end
