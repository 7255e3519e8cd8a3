// Types of edge-session-express (index.cjs has the documentation).

/** The session field a login's time is kept in: `authenticatedAt`. */
export declare const AUTHENTICATED_AT: "authenticatedAt";
/** The shortest GATEWAY_SECRET accepted, in bytes (32). */
export declare const MIN_GATEWAY_SECRET_BYTES: number;
/** connect-redis's default `ttl`, one day, in seconds. */
export declare const DEFAULT_INDEX_TTL_SECONDS: number;
/** How far the gateway's signature time may be from this clock, in seconds (60). */
export declare const DEFAULT_MAX_SKEW_SECONDS: number;
/** The first line of the text the gateway signs. */
export declare const SIGNATURE_CONTEXT: "edge-session-gateway/1";

/** A node-redis (v4+) or ioredis client: only `multi()` is used. */
export interface RedisClientLike {
  multi(): unknown;
}

/** `user-sessions:<user>`. */
export declare function indexKey(user: string): string;

/** passport.user as text: a string, `String(n)` of a number, or `user[userField]`; `null` otherwise. */
export declare function passportUserText(user: unknown, userField?: string): string | null;

/** SADD + EXPIRE NX + EXPIRE GT + PERSIST in one MULTI. */
export declare function indexSession(
  redisClient: RedisClientLike,
  user: string,
  sessionID: string,
  ttlSeconds?: number,
  userPrefix?: string,
): Promise<void>;

export interface IndexLoginOptions {
  /** At least the longest TTL of your sessions, in seconds (default 86400). */
  ttlSeconds?: number;
  /** The worker's AUTH_USER_PREFIX (default `user:`). */
  userPrefix?: string;
  /** The worker's SESSION_PASSPORT_USER_FIELD, for a Passport user that is an object. */
  userField?: string;
}

/**
 * A request as the index reads it: Express's `req` with express-session
 * (`session` is read as `{ passport?: { user?: unknown } }`).
 */
export interface SessionRequestLike {
  sessionID: string;
  session?: object | null;
}

/**
 * The function indexLogin returns. As a function: `await index(req)`; as
 * middleware: `index(req, res, next)`. One signature, so that it fits
 * where Express expects a RequestHandler.
 */
export type IndexLogin = (req: SessionRequestLike, res?: unknown, next?: (err?: unknown) => void) => Promise<void> | undefined;

export declare function indexLogin(redisClient: RedisClientLike, options?: IndexLoginOptions): IndexLogin;

/** What the gateway says about a request, once its signature verifies. */
export interface GatewayIdentity {
  /** The verified session id, or `null` when the store held no session for the cookie. */
  sessionId: string | null;
  /** The logged-in user (decoded), or `null`. */
  user: string | null;
}

export type GatewayVerdict =
  | ({ ok: true } & GatewayIdentity)
  | { ok: false; reason: "missing" | "malformed" | "expired" | "mismatch" };

/** A request as the verifier reads it: Node's lower-cased header names. */
export interface GatewayRequestLike {
  method: string;
  originalUrl?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface VerifyOptions {
  /** The shared GATEWAY_SECRET. */
  secret: string | Uint8Array;
  /** Seconds the signature's time may be off (default 60). */
  maxSkewSeconds?: number;
  /** Now, in milliseconds since the epoch (default `Date.now()`). */
  now?: number;
}

export declare function verifyGatewayHeaders(request: GatewayRequestLike, options: VerifyOptions): GatewayVerdict;

export interface GatewaySessionOptions {
  /** The shared GATEWAY_SECRET (at least 32 bytes), or a list while it changes (any verifies). */
  secret: string | readonly string[];
  /** Seconds the signature's time may be off (default 60). */
  maxSkewSeconds?: number;
  /** Answer 403 to requests that did not come through the gateway (default false). */
  requireGateway?: boolean;
}

/** Express middleware: sets `req.gateway` (or `null`, with X-Session-* headers deleted). */
export declare function gatewaySession(
  options: GatewaySessionOptions,
): (req: GatewayRequestLike & { gateway?: GatewayIdentity | null }, res: MiddlewareResponse, next: (err?: unknown) => void) => void;

/** What gatewaySession uses of a response (Node's `http.ServerResponse`). */
export interface MiddlewareResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

export interface LoginTimeOptions {
  /** In the login route, after the login middleware: record this login's time even over an older one. */
  atLogin?: boolean;
}

/** Express middleware keeping `req.session.authenticatedAt`: set for a login without one, removed without a login. */
export declare function loginTime(options?: LoginTimeOptions): (req: { session?: object | null }, res: unknown, next: (err?: unknown) => void) => void;

declare global {
  namespace Express {
    interface Request {
      /** Set by gatewaySession: who the edge-session gateway says is asking, or `null`. */
      gateway?: GatewayIdentity | null;
    }
  }
}
