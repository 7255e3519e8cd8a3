#!lua flags=allow-key-locking
-- Registration (docs/PROTOCOL.md §11.3): creates a user record and claims
-- its name's confusable skeleton (UTS #39) in one step, so that neither a
-- name that exists nor one that looks like another user's can be
-- registered, however registrations race.
--
-- KEYS[1]      the user record
-- KEYS[2]      the skeleton key, which holds the canonical name that owns it
-- ARGV[1]      the record (JSON)
-- ARGV[2]      the canonical name
-- KEYS[3]      the name's known-addresses set (optional): emptied for the
--              new account (a name freed by an expired one keeps none of
--              its addresses), then given ARGV[4]
-- ARGV[3]      TTL in seconds of both keys until the first login (an
--              unverified account expires); empty: none
-- ARGV[4]      the registering address's bucket, added to KEYS[3] (an
--              address the owner uses, for the lockout's exception); empty:
--              none
-- ARGV[5]      KEYS[3]'s TTL in seconds
--
-- Answers 1 created; 0 the name is taken; -1 the skeleton belongs to
-- another name (a look-alike exists).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return -1 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
if KEYS[3] then
  redis.call('DEL', KEYS[3])
  if ARGV[4] ~= '' then
    redis.call('SADD', KEYS[3], ARGV[4])
    redis.call('EXPIRE', KEYS[3], ARGV[5])
  end
end
return 1
