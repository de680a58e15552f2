/**
 * The Lua scripts of the Redis Streams transport. Each runs atomically on the
 * server, so a step that touches two keys (the de-duplication marker and the
 * stream; the stream and the retry set) can never be half done by a dropped
 * connection or a killed worker. They read the server's clock (`TIME`), never
 * a worker's, and rely on Redis ≥ 7 (effects replication of scripts).
 * @module
 */

import { createHash } from "node:crypto";

/** One server-side script: its text and the SHA-1 that `EVALSHA` names it by. */
export interface RedisScript {
  /** Lua source. */
  readonly source: string;
  /** Hex SHA-1 of the source. */
  readonly sha: string;
}

function script(source: string): RedisScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Publish one event once. KEYS: dedup marker, sink stream. ARGV: dedup window
 * ms, id, body, MAXLEN (0 = none), max age ms (0 = none). Returns 1 when
 * stored, 0 for a duplicate inside the window. If XADD fails the marker is
 * removed again so a later re-publish is not taken for a duplicate.
 */
export const PUBLISH: RedisScript = script(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local add = {'XADD', KEYS[2]}
local maxlen = tonumber(ARGV[4])
local maxage = tonumber(ARGV[5])
if maxlen > 0 then
  add[#add + 1] = 'MAXLEN'; add[#add + 1] = '~'; add[#add + 1] = ARGV[4]
end
add[#add + 1] = '*'
add[#add + 1] = 'id'; add[#add + 1] = ARGV[2]
add[#add + 1] = 'body'; add[#add + 1] = ARGV[3]
local r = redis.pcall(unpack(add))
if type(r) == 'table' and r.err then
  redis.call('DEL', KEYS[1])
  return r
end
if maxage > 0 then
  ${NOW}
  redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%.0f', now - maxage))
end
return 1
`);

/**
 * Hand over entries idle past the ack wait, with their delivery counts.
 * KEYS: sink stream, redelivery counter hash. ARGV: group, consumer, min idle
 * ms, cursor, count, sink. Returns `[cursor, id, fields, deliveries, ...]`.
 */
export const CLAIM: RedisScript = script(`
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out = {r[1]}
local n = 0
for _, e in ipairs(r[2]) do
  if e then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    local count = 2
    if p[1] then count = p[1][4] end
    out[#out + 1] = e[1]; out[#out + 1] = e[2]; out[#out + 1] = count
    n = n + 1
  end
end
if n > 0 then redis.call('HINCRBY', KEYS[2], ARGV[6], n) end
return out
`);

/**
 * Acknowledge and delete a delivered entry (one group per sink stream, so an
 * acked entry is of no further use). KEYS: sink stream. ARGV: group, entry id.
 * Returns 1, or 0 when it was no longer pending (another worker finished it).
 */
export const ACK: RedisScript = script(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`);

/**
 * Schedule a redelivery: ack and delete the entry, and park it in the sink's
 * retry set scored by its due time (server clock). KEYS: sink stream, retry
 * set. ARGV: group, entry id, delay ms, attempt so far, id, body. Returns 1,
 * or 0 when it was no longer pending.
 */
export const RETRY: RedisScript = script(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
${NOW}
redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])),
  cmsgpack.pack({ARGV[2], tonumber(ARGV[4]), ARGV[5], ARGV[6]}))
return 1
`);

/**
 * Move due retries back into the sink stream, carrying their attempt count
 * in field `a`. KEYS: sink stream, retry set, redelivery counter hash. ARGV:
 * most to move, sink. Returns ms until the next retry is due, or -1 if none.
 */
export const PROMOTE: RedisScript = script(`
${NOW}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now), 'LIMIT', 0, ARGV[1])
for _, m in ipairs(due) do
  local v = cmsgpack.unpack(m)
  redis.call('XADD', KEYS[1], '*', 'id', v[3], 'body', v[4], 'a', v[2])
  redis.call('ZREM', KEYS[2], m)
end
if #due > 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], #due) end
local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
local wait = tonumber(nxt[2]) - now
if wait < 0 then wait = 0 end
return wait
`);

/**
 * Dead-letter an entry: copy it to the dead-letter stream with its sink,
 * reason and attempt, then ack and delete it. KEYS: sink stream, dead-letter
 * stream. ARGV: group, entry id, id, sink, reason, attempt, body. Returns 1,
 * or 0 when it was no longer pending (nothing written).
 */
export const DEAD_LETTER: RedisScript = script(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[3], 'sink', ARGV[4], 'reason', ARGV[5],
  'attempt', ARGV[6], 'entry', ARGV[2], 'body', ARGV[7])
return 1
`);

/**
 * Forget this worker's consumer when it holds nothing (no pending entries),
 * so stopped workers do not pile up in `XINFO CONSUMERS`. KEYS: sink stream.
 * ARGV: group, consumer. Returns 1 when removed.
 */
export const FORGET_CONSUMER: RedisScript = script(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`);
