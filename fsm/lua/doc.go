// Package lua is raftlist's Lua 5.1 runtime for EVAL scripts: the
// compiler (Redis's shebang, then gopher-lua's parser with the operations
// gopher-lua does unmetered rewritten into metered helpers), the sandbox
// (base, string, table, math and redis libraries, and the cjson,
// cmsgpack, bit and struct libraries Redis ships, byte for byte as
// redis-server 7.0.15; Redis 7's read-only globals), the instruction and
// byte budget, the conversion of replies
// both ways, and a Pool of machines to run on.
//
// Its entry point is Pool.Run: run this Script with these KEYS and
// ARGV, against this Host, within this Budget, and get the reply. Redis 7
// function libraries have two more (library.go): Pool.LoadLibrary runs a
// library's code as FUNCTION LOAD does and returns what it registered,
// and Pool.CallFunction (FCALL) runs the library's code afresh and then
// the callback, so a callback keeps nothing between calls. The
// Host is the state machine as a script sees it (redis.call and
// redis.pcall, redis.acl_check_cmd, redis.log); whether a command may
// write, which database it uses and what it does are the host's to
// decide. Package fsm is the host; this package must never import fsm,
// nor anything but gopher-lua, the standard library and fsm/resp.
//
// # The determinism contract
//
// Every node runs every script, each on its own machines, and must answer
// the same. So a run is a pure function of (its Script, KEYS, ARGV,
// Budget, and what its Host answers), and it must never:
//
//   - observe anything else: no clock, no os, io, require, dofile,
//     loadfile, print, coroutine, debug, getfenv or setfenv; load and
//     loadstring compile source only, into the same sandbox; math.random
//     is Redis's lrand48 from the seed the Host gives (Host.RandomSeed:
//     the entry's, so equal on every node); tostring shows a counter,
//     never an address; pairs follows a table's insertion order, never
//     Go's map order, and so do cjson.encode's objects and
//     cmsgpack.pack's maps (Redis follows its hash order there); a
//     library table is filled in a fixed order, never from a Go map;
//   - keep anything: nothing a run does survives it except through Host.
//     Every table a run can reach without making it is a read-only view
//     (writes, rawset, setmetatable and the table library refuse it),
//     and the compiler's helpers live in an environment no script can
//     name. KEYS and ARGV are replaced at every run, and so are cjson's
//     settings (Redis keeps them across scripts); cjson.null is a
//     userdata no script can give a metatable;
//   - depend on time: the budget is counted, never timed, and every
//     builtin is charged for the work it does, so a runaway script stops
//     at the same instruction on every node, with the same error. The
//     libraries charge per value, byte and table they make; a decoder
//     never allocates for a length it was told, only for what it reads;
//     and where Redis's C code stops on Lua's stack limit (cmsgpack's
//     nesting and value count, cjson's depth) the same count of stack
//     slots is kept, so the same input fails with the same error.
//
// The seal is the proof kept at run time: when a machine is built, every
// table a run can reach is recorded (metatable, shape, and with
// CheckValues every key and value), and after every run the machine is
// compared with the record. A machine that differs is retired, never
// repaired or reused, and Tainted counts it, so tests fail on any hole.
//
// A Pool is a cache, not state. Warm runs (on a machine other scripts
// used) and cold runs (on a new one) must answer byte for byte the same;
// Reset makes a pool cold, which is how the replay checker and this
// package's tests compare the two.
package lua
