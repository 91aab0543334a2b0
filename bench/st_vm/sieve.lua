-- The primes up to 1,000,000 by the sieve of Eratosthenes.
local N = 1000000
local t0 = os.clock()
local flags = {}
for i = 2, N do flags[i] = true end
for i = 2, 1000 do
  if flags[i] then
    local j = i * i
    while j <= N do
      flags[j] = false
      j = j + i
    end
  end
end
local count = 0
for i = 2, N do
  if flags[i] then count = count + 1 end
end
print(string.format("%.6f %d", os.clock() - t0, count))
