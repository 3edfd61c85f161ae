package redis

import goredis "github.com/redis/go-redis/v9"

// Every script gets all its keys in KEYS, so Redis knows what it touches.
// A guard key, when the script is told to honour it, makes the script do
// nothing while the key exists: a sweeper passes the dead node's heartbeat
// key, so a node that comes back between the check and the write keeps its
// share.

// occupyScript sets node's count of a channel, by delta ("add") or to a
// value ("set"), never below zero, and moves the app's total by the change.
// It returns the channel's total, or -1 when the guard held.
//
// KEYS: node-occ hash, app occupancy hash, guard.
// ARGV: node field (app NUL channel), channel, n, "add"|"set", "1" to guard.
var occupyScript = goredis.NewScript(`
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local want = tonumber(ARGV[3])
if ARGV[4] == 'add' then want = cur + want end
if want < 0 then want = 0 end
local diff = want - cur
if diff == 0 then
  return tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
end
if want == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], want)
end
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], diff)
if total <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  total = 0
end
return total
`)

// presenceAddScript records a member connection, checking the member limit
// in the same step. It returns 1 when the user is new on the channel, 0
// when it was there, -1 when the channel is full.
//
// KEYS: info hash (user -> info), order zset (user -> join seq), conns hash
// (node NUL conn NUL user -> 1), users hash (user -> connections), node
// presence index (app NUL channel NUL conn NUL user -> 1), seq counter.
// ARGV: conn field, user, info, max, index field.
var presenceAddScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
local added = 0
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then
  local max = tonumber(ARGV[4])
  if max > 0 and redis.call('HLEN', KEYS[4]) >= max then return -1 end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[6]), ARGV[2])
  added = 1
end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('HSET', KEYS[5], ARGV[5], '1')
return added
`)

// presenceRemoveScript forgets a member connection. It returns 1 when the
// user has no connection left, 0 otherwise, -1 when the guard held.
//
// KEYS: info, order, conns, users, node presence index, guard.
// ARGV: conn field, user, index field, "1" to guard.
var presenceRemoveScript = goredis.NewScript(`
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[6]) == 1 then return -1 end
redis.call('HDEL', KEYS[5], ARGV[3])
if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[4], ARGV[2], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`)

// presenceMembersScript returns user, info, user, info... in join order,
// read in one step.
//
// KEYS: order, info.
var presenceMembersScript = goredis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i, id in ipairs(ids) do
  out[2*i-1] = id
  out[2*i] = redis.call('HGET', KEYS[2], id) or ''
end
return out
`)

// forgetNodeScript drops a dead node's indexes once its share is swept,
// unless the node came back. It returns 1 when it forgot the node.
//
// KEYS: heartbeat (guard), node-occ, node presence index, nodes set.
// ARGV: node.
var forgetNodeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[2]) > 0 or redis.call('HLEN', KEYS[3]) > 0 then return 0 end
redis.call('SREM', KEYS[4], ARGV[1])
return 1
`)
