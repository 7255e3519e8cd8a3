#!lua flags=allow-key-locking
-- Compare-and-set save of one session document (docs/PROTOCOL.md §11).
-- Writes only where the stored document is still the one the request
-- loaded, and never where the loaded key is gone: a logout, a destroy or an
-- expiry that happened meanwhile wins over any later save.
--
-- KEYS[1]      the key to write (prefix .. id)
-- KEYS[2]      the key the session was loaded from: KEYS[1], or the old key
--              when the id was rotated; KEYS[1] again for a new session
-- KEYS[3..]    ARGV[4] keys deleted after the write (ids retired by a
--              regenerate or rotate), then the index set when ARGV[7] is
--              not empty, then the counter when ARGV[6] is not empty,
--              and last the guard key when ARGV[8] is not empty
-- ARGV[1]      SHA-1 (hex) of the bytes loaded from KEYS[2]; empty for a new
--              session, whose key must not exist yet
-- ARGV[2]      the document
-- ARGV[3]      TTL in seconds; empty: no TTL (disableTTL); <= 0: the session
--              has expired and is deleted instead (connect-redis's rule)
-- ARGV[4]      how many retired keys follow in KEYS
-- ARGV[5]      a session id to add to the index set; empty: none
-- ARGV[6]      '1': add one to the counter (INCR); empty: none
-- ARGV[7]      the index set's TTL in seconds, which this save sets when
--              the set has none and raises when it is shorter, never
--              lowers (EXPIRE NX, then GT): the set outlives every session
--              it lists; 'persist': no TTL (disableTTL); empty: no index
-- ARGV[8]      SHA-1 (hex) of what the guard key (the last of KEYS) held
--              when the request read it: nothing is written unless it still
--              holds that (a login's user record, so that a login checked
--              against a password that has since changed saves nothing);
--              empty: no guard
-- ARGV[9]      a new value for the guard key, written (SET, no TTL) with
--              the session when the guard holds: a login's rehashed user
--              record, so that it can never overwrite a record changed
--              meanwhile; empty: none
--
-- Answers {1} saved, or {1, n} saved and the counter is now n;
-- {0, bytes} conflict (what KEYS[2] holds now); {-1} gone (KEYS[2] no
-- longer exists); {-2} taken (a new session's key already exists); {-3}
-- stale (the guard key changed).
if ARGV[8] ~= '' then
  local guarded = redis.call('GET', KEYS[#KEYS])
  if not guarded or redis.sha1hex(guarded) ~= ARGV[8] then return {-3} end
end
local current = redis.call('GET', KEYS[2])
if ARGV[1] == '' then
  if current then return {-2} end
else
  if not current then return {-1} end
  if redis.sha1hex(current) ~= ARGV[1] then return {0, current} end
end
local ttl = ARGV[3]
if ttl == '' then
  redis.call('SET', KEYS[1], ARGV[2])
elseif tonumber(ttl) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
else
  redis.call('DEL', KEYS[1])
end
local retired = tonumber(ARGV[4])
if retired > 0 then
  redis.call('DEL', unpack(KEYS, 3, 2 + retired))
end
local next = 3 + retired
if ARGV[7] ~= '' then
  if ARGV[5] ~= '' then
    redis.call('SADD', KEYS[next], ARGV[5])
  end
  if ARGV[7] == 'persist' then
    redis.call('PERSIST', KEYS[next])
  else
    redis.call('EXPIRE', KEYS[next], ARGV[7], 'NX')
    redis.call('EXPIRE', KEYS[next], ARGV[7], 'GT')
  end
  next = next + 1
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[#KEYS], ARGV[9])
end
if ARGV[6] ~= '' then
  return {1, redis.call('INCR', KEYS[next])}
end
return {1}
