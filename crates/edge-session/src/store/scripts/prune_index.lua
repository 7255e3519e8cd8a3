#!lua flags=allow-key-locking
-- Prunes a user's session index (docs/PROTOCOL.md §12): forgets each of the
-- given members whose session key no longer exists (expired, logged out,
-- destroyed), in one step, so that the index of a user who logs in often
-- does not grow without end. A member whose session exists stays, and so
-- does every member the caller did not name.
--
-- KEYS[1]      the index set
-- KEYS[2..]    the session key of each member, in ARGV's order
-- ARGV[1..]    the members to check
--
-- Answers how many members were removed.
local removed = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], ARGV[i])
  end
end
return removed
