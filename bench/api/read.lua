-- read.lua - wrk script: GET one random item of the ITEMS seeded.
local items = tonumber(os.getenv("ITEMS") or "1000")
local token = os.getenv("TOKEN")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format("GET", "/api/v1/items/" .. math.random(1, items),
    { ["Authorization"] = "Bearer " .. token })
end
