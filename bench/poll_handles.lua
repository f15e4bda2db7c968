-- wrk script for bench/page_view.py: GET the live status of many waiting requests in turn, as
-- their visitors' polls would (each handle alone may be polled 40 times in 10 s).
-- Argument: a file with one status path (/api/v1/requests/<handle>) per line.
local paths = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
end

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[counter % #paths + 1])
end
