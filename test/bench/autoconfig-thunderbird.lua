-- autoconfig-thunderbird.lua (wrk): Thunderbird's GET for a random address
-- of gen-export.py's export (DOMAINS domains, PER_DOMAIN addresses each,
-- as "aN@dM.example"), each from a random client behind the web server:
-- X-Forwarded-For, as the proxy appends it, so the rate table sees many
-- clients as it would in production.
local domains = tonumber(os.getenv("DOMAINS") or "100000")
local per_domain = tonumber(os.getenv("PER_DOMAIN") or "10")

-- PACE_MS: each connection waits that long before its next request, so
-- that CONNECTIONS connections ask about CONNECTIONS * 1000 / PACE_MS times a
-- second (less the answers' own time), for a latency at a given rate.
local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  function delay()
    return pace
  end
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local d = math.random(0, domains - 1)
  local a = math.random(0, per_domain - 1)
  local client = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("GET", string.format("/mail/config-v1.1.xml?emailaddress=a%d%%40d%d.example", a, d),
    { ["Host"] = "autoconfig.d" .. d .. ".example", ["X-Forwarded-For"] = client })
end
