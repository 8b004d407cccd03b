-- list.lua - wrk script: a page of 100 items from a random point of the
-- ITEMS seeded (GET /api/v1/items?after=N&limit=100).
local items = tonumber(os.getenv("ITEMS") or "1000")
local token = os.getenv("TOKEN")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format("GET", "/api/v1/items?limit=100&after=" ..
    math.random(0, math.max(items - 100, 0)),
    { ["Authorization"] = "Bearer " .. token })
end
