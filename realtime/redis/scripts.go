package redis

import goredis "github.com/redis/go-redis/v9"

// Every script gets all its keys in KEYS, so Redis knows what it touches,
// and all of them carry one hash tag (see keys), so a Redis Cluster runs it
// in one slot. What spans slots (a node's index of the channels it holds,
// the app's list of occupied channels) is written by separate commands,
// in an order that leaves an index too large rather than too small.

// occupyScript sets node's count of a channel, by delta ("add") or to a
// value ("set"), never below zero. It returns the channel's total over
// every node, node's count now and node's count before.
//
// KEYS: the channel's occupancy hash (node -> n).
// ARGV: node, n, "add"|"set".
var occupyScript = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local want = tonumber(ARGV[2])
if ARGV[3] == 'add' then want = cur + want end
if want < 0 then want = 0 end
if want == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
elseif want ~= cur then
  redis.call('HSET', KEYS[1], ARGV[1], want)
end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return {total, want, cur}
`)

// presenceAddScript records a member connection, checking the member limit
// in the same step. It returns 1 when the user is new on the channel, 0
// when it was there, -1 when the channel is full.
//
// KEYS: info hash (user -> info), order zset (user -> join seq), conns hash
// (node NUL conn NUL user -> 1), users hash (user -> connections), join
// counter.
// ARGV: conn field, user, info, max.
var presenceAddScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
local added = 0
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then
  local max = tonumber(ARGV[4])
  if max > 0 and redis.call('HLEN', KEYS[4]) >= max then return -1 end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[5]), ARGV[2])
  added = 1
end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
return added
`)

// presenceRemoveScript forgets a member connection. It returns 1 when the
// user has no connection left, 0 otherwise.
//
// KEYS: info, order, conns, users, join counter.
// ARGV: conn field, user.
var presenceRemoveScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[4], ARGV[2], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('HLEN', KEYS[4]) == 0 then redis.call('DEL', KEYS[5]) end
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

// forgetNodeScript tells whether a dead node can be forgotten once its
// share is swept: its heartbeat is still gone and its indexes are empty.
// It returns 1 when it can (and deletes the empty indexes).
//
// KEYS: heartbeat, node-occ index, node presence index (one node's slot).
var forgetNodeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[2]) > 0 or redis.call('HLEN', KEYS[3]) > 0 then return 0 end
return 1
`)
