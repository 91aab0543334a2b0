-- Insertion sort of 1,000 integers, 100 times (fresh pseudo-random data each time).
local a = {}
local seed, checksum = 42, 0
local t0 = os.clock()
for rep = 1, 100 do
  for i = 1, 1000 do
    seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
    a[i] = (seed // 65536) % 32768
  end
  for i = 2, 1000 do
    local key = a[i]
    local j = i - 1
    while j >= 1 and a[j] > key do
      a[j + 1] = a[j]
      j = j - 1
    end
    a[j + 1] = key
  end
  checksum = checksum + a[1] + a[500] + a[1000]
end
print(string.format("%.6f %d", os.clock() - t0, checksum))
