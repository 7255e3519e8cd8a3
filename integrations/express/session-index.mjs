// What an Express app adds so that its Passport logins can be ended by the
// worker's "log out everywhere" (POST /api/logout-all).
//
// The worker keeps, per user, the set of session ids logged in as that user
// (crates/edge-session/src/keys.rs `user_sessions`, and
// crates/edge-session/src/session/mod.rs `Session::add_to_index`):
//
//   user-sessions:<username>   Redis set of session ids (the bare id, no
//                              `sess:` prefix), with a TTL of at least the
//                              longest a session lives, raised (never
//                              lowered) at each save or touch of a session
//                              it lists: a shorter one would let "log out
//                              everywhere" miss that session
//
// `<username>` is the canonical (normalized) name, which is also what
// Passport must store as `req.session.passport.user`: serialize the user as
// that string (`passport.serializeUser((user, done) => done(null, name))`),
// because the worker reads `passport.user` as the username. POST
// /api/logout-all on the worker deletes `<SESSION_PREFIX><id>` for every id in
// the set (the Express app and the worker must share the session prefix,
// connect-redis `prefix` = SESSION_PREFIX, default `sess:`) and the set
// itself, in one DEL.
//
// The Express side only adds ids. Pruning is the worker's: at each login it
// drops the ids whose session key no longer exists, so ids of sessions that
// expired or were logged out on either side do not pile up.
//
// Only node-redis is needed (v4 and later: `multi().sAdd().expire().exec()`).
//
// Mounted app-wide (`app.use(indexLogin(redisClient, { ttlSeconds }))`), it
// also keeps the index alive on every request of a logged-in session, as the
// worker does; mounted after the login route only, the index lives
// `ttlSeconds` past the last login or the worker's last request, so give it
// at least the longest an Express session may roll on without the worker.

/**
 * The index TTL when none is given: connect-redis's default `ttl` (one day),
 * which is also the worker's when `cookie.maxAge` is shorter.
 */
export const DEFAULT_INDEX_TTL_SECONDS = 86400;

/** The Redis set of `username`'s session ids (crates/edge-session/src/keys.rs `user_sessions`). */
export function indexKey(username) {
  return `user-sessions:${username}`;
}

/**
 * Records that session `sessionID` is logged in as `username`:
 * `SADD user-sessions:<username> <sessionID>`, then `EXPIRE … NX` and
 * `EXPIRE … GT` with `ttlSeconds` (set when the set has none, raised when it
 * is shorter, never lowered), and `PERSIST <userPrefix><username>` (a
 * logged-in account is no unverified one: the worker writes new records
 * with a TTL, AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS, that the first login
 * removes), in one MULTI (the worker sends the same commands in the script
 * that saves a login, `save.lua`, and its login's pipeline). `ttlSeconds` is
 * at least the longest TTL of your sessions: max(cookie.maxAge / 1000,
 * connect-redis `ttl`); `userPrefix` is the worker's AUTH_USER_PREFIX.
 */
export async function indexSession(redisClient, username, sessionID, ttlSeconds = DEFAULT_INDEX_TTL_SECONDS, userPrefix = "user:") {
  if (typeof username !== "string" || username === "") {
    throw new TypeError("the session index needs passport.user to be the username string the worker uses");
  }
  if (typeof sessionID !== "string" || sessionID === "") throw new TypeError("no session id to index");
  const key = indexKey(username);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError("ttlSeconds is a whole number of seconds");
  await redisClient
    .multi()
    .sAdd(key, sessionID)
    .expire(key, ttlSeconds, "NX")
    .expire(key, ttlSeconds, "GT")
    .persist(`${userPrefix}${username}`)
    .exec();
}

/**
 * Returns `index(req[, res, next])`, which indexes the request's session
 * under its logged-in user (`req.session.passport.user`, as Passport 0.6+
 * stores it, and `req.sessionID`, which after `req.login` is the new,
 * regenerated id). Two ways to use it:
 *
 *   // in req.login's callback
 *   const index = indexLogin(redisClient);
 *   req.login(username, async (err) => {
 *     if (err) return next(err);
 *     await index(req);
 *     res.json({ user: username });
 *   });
 *
 *   // as Express middleware after a login middleware (e.g. passport.authenticate)
 *   app.post("/login", passport.authenticate("local"), indexLogin(redisClient), handler);
 *
 * A request without a logged-in user is left alone. Called as middleware
 * it passes a Redis error to `next`; called alone it rejects with it.
 */
export function indexLogin(redisClient, { ttlSeconds = DEFAULT_INDEX_TTL_SECONDS, userPrefix = "user:" } = {}) {
  return function index(req, _res, next) {
    const user = req.session?.passport?.user;
    const done =
      user === undefined || user === null
        ? Promise.resolve()
        : indexSession(redisClient, user, req.sessionID, ttlSeconds, userPrefix);
    if (typeof next !== "function") return done;
    done.then(() => next(), next);
  };
}
