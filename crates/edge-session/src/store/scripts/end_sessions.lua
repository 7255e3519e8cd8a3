#!lua flags=allow-key-locking
-- Logout everywhere (docs/PROTOCOL.md §11): deletes a user's index set and
-- every session it names, in one step, but only if the set still holds
-- exactly the members the caller read. A login that added its session to
-- the set after that read makes this a conflict instead of leaving that
-- session alive and unindexed; the caller retries with the new members.
--
-- KEYS[1]      the index set
-- KEYS[2..]    the session keys of its members, then any other session
--              keys to end with them (the caller's own session)
-- ARGV[1..]    the members the caller read (any order)
--
-- Answers {1, n}: n session keys deleted; or {0, members}: the set changed.
local changed = redis.call('SCARD', KEYS[1]) ~= #ARGV
for i = 1, #ARGV do
  if changed then break end
  changed = redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0
end
if changed then return {0, redis.call('SMEMBERS', KEYS[1])} end
-- DEL of the set and every session. The set exists exactly when it has
-- members (Redis deletes an empty set), so it is one of the keys deleted
-- exactly when members were read.
-- (In slices of 1000: unpack() of many thousand keys overflows Lua's stack.)
local deleted = 0
for i = 1, #KEYS, 1000 do
  deleted = deleted + redis.call('DEL', unpack(KEYS, i, math.min(i + 999, #KEYS)))
end
if #ARGV > 0 then deleted = deleted - 1 end
return {1, deleted}
