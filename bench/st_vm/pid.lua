-- 1,000,000 steps of a PID loop on a first-order plant.
local sp, pv, err, prev, integ, deriv, u = 40.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
local kp, ki, kd, dt, tau = 1.2, 0.4, 0.05, 0.01, 2.0
local t0 = os.clock()
for k = 1, 1000000 do
  if k % 200000 == 0 then sp = 100.0 - sp end
  err = sp - pv
  integ = integ + ki * err * dt
  deriv = (err - prev) / dt
  u = kp * err + integ + kd * deriv
  if u > 100.0 then u = 100.0 elseif u < 0.0 then u = 0.0 end
  prev = err
  pv = pv + (u - pv) * dt / tau
end
print(string.format("%.6f %.6f", os.clock() - t0, pv))
