--- cjson encodes arrays, nesting and a one-key object
return cjson.encode({1,2,3,{a=1}})
--- cjson numbers as %.14g
return cjson.encode({0.1, -0.0, 123456789012345678, 1e-300, 2^53, 100, -5, 3.14159265358979, 1e100, 1/3})
--- cjson refuses NaN
return cjson.encode(0/0)
--- cjson refuses Inf
return cjson.encode({1/0})
--- cjson sparse array with a hole
local t={} t[1]=1 t[3]=3 return cjson.encode(t)
--- cjson excessively sparse array
local t={} t[20]=1 return cjson.encode(t)
--- cjson sparse but under the safe limit
return cjson.encode({[1]=1,[2]=2,[4]=4,[5]=5,[6]=6,[7]=7,[8]=8,[9]=9,[10]=10,[11]=11,[12]=12})
--- cjson escapes
return cjson.encode("a\"\\/\n\r\t\b\f\1\31\127é")
--- cjson empty table is an object
return cjson.encode({})
--- cjson functions are refused
return cjson.encode(function() end)
--- cjson boolean keys are refused
return cjson.encode({[true]=1})
--- cjson number keys are quoted
return cjson.encode({[1.5]=1})
--- cjson zero key makes an object
return cjson.encode({[0]='z'})
--- cjson null and booleans
return cjson.encode({cjson.null, true, false})
--- cjson excessive nesting
local t={} local c=t for i=1,1001 do c[1]={} c=c[1] end return cjson.encode(t)
--- cjson nesting at the limit
local t={} local c=t for i=1,999 do c[1]={} c=c[1] end return #cjson.encode(t)
--- cjson a table that contains itself
local t={} t[1]=t return cjson.encode(t)
--- cjson encode wants one argument
return cjson.encode()
--- cjson encode through pcall
return {pcall(cjson.encode, 1, 2)}
--- cjson decode values
local t=cjson.decode('[1,2,{"a":null},"x",true,false,-0.5e2]') return {t[1],t[2],type(t[3].a),tostring(t[3].a==cjson.null),t[4],t[5],tostring(t[6]),t[7]}
--- cjson decode unicode escapes and surrogates
return cjson.decode('"\\u00e9\\ud83d\\ude00\\u0041\\/"')
--- cjson decode nesting limit
return cjson.decode(string.rep("[",1001)..string.rep("]",1001))
--- cjson decode nesting at the limit
return type(cjson.decode(string.rep("[",1000)..string.rep("]",1000)))
--- cjson decode object nesting limit
return cjson.decode(string.rep('{"a":',1001)..'1'..string.rep("}",1001))
--- cjson decode unterminated object
return cjson.decode("{")
--- cjson decode unterminated array
return cjson.decode("[1,2")
--- cjson decode trailing comma
return cjson.decode("[1,]")
--- cjson decode trailing comma in object
return cjson.decode('{"a":1,}')
--- cjson decode bad escape
return cjson.decode('"\\x"')
--- cjson decode bad unicode escape
return cjson.decode('"\\ud800"')
--- cjson decode low surrogate first
return cjson.decode('"\\udc00\\ud800"')
--- cjson decode raw newline in a string
return cjson.decode('"a\nb"')
--- cjson decode unexpected end of string
return cjson.decode('"abc')
--- cjson decode bad token
return cjson.decode("tru")
--- cjson decode extra data
return cjson.decode("1 2")
--- cjson decode empty
return cjson.decode("")
--- cjson decode a number argument
return cjson.decode(5)
--- cjson decode a table argument
return cjson.decode({})
--- cjson decode no argument
return cjson.decode()
--- cjson decode invalid numbers strtod reads
return {tostring(cjson.decode("nan")), tostring(cjson.decode("0x10")), tostring(cjson.decode("Infinity")), tostring(cjson.decode(" -inf ")), tostring(cjson.decode("[01]")[1]), tostring(cjson.decode("1e500")), tostring(cjson.decode("+3")), tostring(cjson.decode("1.")), tostring(cjson.decode("0x1p4"))}
--- cjson decode a lone minus
return cjson.decode("[-]")
--- cjson decode a leading dot
return cjson.decode("[.5]")
--- cjson decode a bare exponent
return cjson.decode("[1e]")
--- cjson decode stops at NUL
return cjson.decode("[1]\0garbage")[1]
--- cjson decode UTF-16 is refused
return cjson.decode("\0[")
--- cjson decode object keys stay strings
return cjson.decode('{"1":2}')["1"]
--- cjson decode whitespace
return cjson.decode(' \t\r\n[ 1 , 2 ] ')[2]
--- cjson round trip of a big number
return cjson.encode(cjson.decode("12345678901234567890"))
--- cjson settings are reported
return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}
--- cjson sparse settings
local a,b,c = cjson.encode_sparse_array() return {tostring(a), b, c}
--- cjson precision setting
cjson.encode_number_precision(3) local s = cjson.encode(math.pi) cjson.encode_number_precision(14) return s
--- cjson precision out of range
return cjson.encode_number_precision(15)
--- cjson invalid numbers as null
cjson.encode_invalid_numbers('null') local s = cjson.encode({1/0, 0/0}) cjson.encode_invalid_numbers(false) return s
--- cjson invalid numbers on
cjson.encode_invalid_numbers(true) local s = cjson.encode({1/0, -1/0}) cjson.encode_invalid_numbers(false) return s
--- cjson bad option
return cjson.encode_invalid_numbers('maybe')
--- cjson too many arguments to a setting
return cjson.encode_max_depth(1, 2)
--- cjson library fields
return {cjson._NAME, cjson._VERSION, tostring(cjson.null), type(cjson.new), type(cjson.new())}
--- cjson is read-only
cjson.encode = nil
--- cjson new instance encodes
return cjson.new().encode({1,{2}})
--- cmsgpack pack of every kind
local s=cmsgpack.pack(1,-1,127,128,255,256,65535,65536,2^32-1,2^32,-32,-33,-128,-129,-32768,-32769,-2^31,-2^31-1,-2^63,1.5,0.1,2^63,1/0,"abc",string.rep("x",31),string.rep("y",32),string.rep("z",256),string.rep("w",65536),true,false,nil,{},{1,2},{a=1},{[1]=1,[3]=3},{[2]=2}) local h={} for i=1,#s do h[#h+1]=string.format("%02x", s:byte(i)) end return table.concat(h)
--- cmsgpack big arrays and maps
local a={} for i=1,70000 do a[i]=i%3 end local m={} for i=1,20 do m[i*2]=i end local s=cmsgpack.pack(a, m) return {#s, s:byte(1), s:byte(2), s:byte(3), s:byte(140006), s:byte(140007)}
--- cmsgpack nesting past 16 packs nil
local t={} t[1]=t local s=cmsgpack.pack(t) local h={} for i=1,#s do h[#h+1]=string.format("%02x", s:byte(i)) end return table.concat(h)
--- cmsgpack pack needs input
return cmsgpack.pack()
--- cmsgpack pack of functions is nil
return cmsgpack.pack(function() end, cmsgpack.pack)
--- cmsgpack round trip
local a,b,c,d,e = cmsgpack.unpack(cmsgpack.pack(1.5, 0.1, "s", {1,{2,3}}, {k="v"})) return {tostring(a), tostring(b), c, d[2][2], e.k}
--- cmsgpack unpack every integer kind
return {cmsgpack.unpack(string.char(0xcc,200, 0xcd,1,2, 0xce,1,2,3,4, 0xd0,0x80, 0xd1,0x80,0, 0xd2,0x80,0,0,0, 0xe0, 0x7f))}
--- cmsgpack unpack 64-bit integers
return {tostring(cmsgpack.unpack(string.char(0xcf,255,255,255,255,255,255,255,255))), tostring(cmsgpack.unpack(string.char(0xd3,128,0,0,0,0,0,0,0))), tostring(cmsgpack.unpack(string.char(0xcf,0,0,0,1,0,0,0,0)))}
--- cmsgpack unpack floats
return {tostring(cmsgpack.unpack(string.char(0xca,0x3f,0xc0,0,0))), tostring(cmsgpack.unpack(string.char(0xcb,0x3f,0xb9,0x99,0x99,0x99,0x99,0x99,0x9a)))}
--- cmsgpack unpack strings
return {cmsgpack.unpack(string.char(0xa3,65,66,67, 0xd9,2,68,69, 0xda,0,1,70, 0xdb,0,0,0,1,71))}
--- cmsgpack unpack nil true false
local a,b,c = cmsgpack.unpack(string.char(0xc0,0xc3,0xc2)) return {tostring(a), tostring(b), tostring(c)}
--- cmsgpack bin8 is a bad format
return cmsgpack.unpack(string.char(0xc4,1,65))
--- cmsgpack reserved byte is a bad format
return {pcall(cmsgpack.unpack, string.char(0xc1))}
--- cmsgpack claimed huge array
return {pcall(cmsgpack.unpack, string.char(0xdd,255,255,255,255))}
--- cmsgpack claimed huge string
return {pcall(cmsgpack.unpack, string.char(0xdb,255,255,255,255,1,2,3))}
--- cmsgpack claimed huge map
return {pcall(cmsgpack.unpack, string.char(0xdf,255,255,255,255,1))}
--- cmsgpack truncated integer
return {pcall(cmsgpack.unpack, string.char(0xcd,1))}
--- cmsgpack deep arrays at the limit
return type(cmsgpack.unpack(string.rep(string.char(0x91),3999)..string.char(1)))
--- cmsgpack deep arrays past the limit
return {pcall(cmsgpack.unpack, string.rep(string.char(0x91),4000)..string.char(1))}
--- cmsgpack deep map values at the limit
return type(cmsgpack.unpack(string.rep(string.char(0x81,1),3999)..string.char(1)))
--- cmsgpack deep map values past the limit
return {pcall(cmsgpack.unpack, string.rep(string.char(0x81,1),4000)..string.char(1))}
--- cmsgpack deep map keys
return {pcall(cmsgpack.unpack, string.rep(string.char(0x81),7999)..string.char(1))}
--- cmsgpack deep map keys then missing values
return {pcall(cmsgpack.unpack, string.rep(string.char(0x81),5000)..string.char(1))}
--- cmsgpack many values at the limit
return select('#', cmsgpack.unpack(string.rep(string.char(1),7999)))
--- cmsgpack many values past the limit
return {pcall(cmsgpack.unpack, string.rep(string.char(1),8000))}
--- cmsgpack unpack_limit many values
return {pcall(cmsgpack.unpack_limit, string.rep(string.char(1),7999), 100000)}
--- cmsgpack unpack_limit many values under the limit
return select('#', cmsgpack.unpack_limit(string.rep(string.char(1),7998), 100000))
--- cmsgpack unpack empty
return {pcall(cmsgpack.unpack, "")}
--- cmsgpack unpack_one
return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}
--- cmsgpack unpack_one at an offset
return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}
--- cmsgpack unpack_one at the end
return {cmsgpack.unpack_one(cmsgpack.pack(1,2), 2)}
--- cmsgpack unpack_limit with an offset
return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)}
--- cmsgpack unpack_limit zero is all
return {cmsgpack.unpack_limit(cmsgpack.pack(1,2), 0)}
--- cmsgpack offset past the end
return {pcall(cmsgpack.unpack_one, cmsgpack.pack(1), 5)}
--- cmsgpack negative offset
return {pcall(cmsgpack.unpack_one, cmsgpack.pack(1), -1)}
--- cmsgpack negative limit
return {pcall(cmsgpack.unpack_limit, cmsgpack.pack(1), -1)}
--- cmsgpack unpack_limit wants a limit
return cmsgpack.unpack_limit("a")
--- cmsgpack unpack of a table
return cmsgpack.unpack({})
--- cmsgpack unpack of a number
return cmsgpack.unpack(5)
--- cmsgpack nil map key
return {pcall(cmsgpack.unpack, string.char(0x81,0xc0,1))}
--- cmsgpack nil array element
local t = cmsgpack.unpack(string.char(0x93,1,0xc0,3)) return {t[1], tostring(t[2]), t[3]}
--- cmsgpack library fields
return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}
--- cmsgpack is read-only
cmsgpack.pack = 1
--- bit operations
return {bit.tobit(2^32+5), bit.tobit(0xffffffff), bit.tohex(-1), bit.tohex(255,-4), bit.tohex(255, 2), bit.tohex(1, 20), bit.tohex(0x1234, 0), bit.bnot(0), bit.band(0xff,0x0f,0x3), bit.bor(1,2,4), bit.bxor(3,5), bit.lshift(1,31), bit.rshift(-1,28), bit.arshift(-256,4), bit.rol(0x12345678,8), bit.ror(0x12345678,8), bit.bswap(0x12345678), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.lshift(1,33), bit.tobit("12"), bit.tohex(2^53+3), bit.tobit(1e300), bit.tobit(0/0), bit.tobit(-2^31), bit.band(), 7}
--- bit wants a number
return bit.band("x")
--- bit wants an argument
return bit.bnot()
--- bit is read-only
bit.band = 1
--- struct pack and size
local s=struct.pack(">i2<I4!4bd f c3 s l", -2, 7, 1, 1.5, 0.25, "abcd", "xy", -1) local h={} for i=1,#s do h[#h+1]=string.format("%02x", s:byte(i)) end return {table.concat(h), struct.size(">i2<I4!4bd f c3 l")}
--- struct unpack
return {struct.unpack(">i2<I4!4bd f c3 s l", struct.pack(">i2<I4!4bd f c3 s l", -2, 7, 1, 1.5, 0.25, "abcd", "xy", -1))}
--- struct c0 and wide integers
return {struct.unpack("B c0 i16", string.char(2).."hi"..string.rep("\255",16))}
--- struct unpack at an offset
return {struct.unpack("i", struct.pack("i", 3)..struct.pack("i", 9), 5)}
--- struct wide integers
local s = struct.pack(">i12 <I12 h H", -3, 2^40, -1, 65535) local h={} for i=1,#s do h[#h+1]=string.format("%02x", s:byte(i)) end return {table.concat(h), struct.unpack(">i12 <I12 h H", s)}
--- struct large unsigned
local s = struct.pack("<L", 2^63+2^20) local h={} for i=1,#s do h[#h+1]=string.format("%02x", s:byte(i)) end return {table.concat(h), tostring(struct.unpack("<L", s))}
--- struct size overflow
return {pcall(struct.pack, "i99999999999", 1)}
--- struct int too wide
return {pcall(struct.pack, "i33", 1)}
--- struct huge c
return {pcall(struct.pack, "c2147483647", "a")}
--- struct alignment not a power of 2
return {pcall(struct.pack, "!3i", 1)}
--- struct invalid option
return struct.pack("q", 1)
--- struct string too short
return struct.pack("c5", "ab")
--- struct data too short
return struct.unpack("i4", "ab")
--- struct unfinished string
return {pcall(struct.unpack, "s", "ab")}
--- struct c0 without a size
return {pcall(struct.unpack, "c0", "ab")}
--- struct s has no size
return struct.size("s")
--- struct c0 has no size
return struct.size("c0")
--- struct default alignment
return {struct.size("!b d"), struct.size("! b i"), struct.size("!2 b d"), struct.size("b xx h")}
--- struct pack wants numbers
return struct.pack("i", "x")
--- struct is read-only
struct.pack = 1
--- redis.sha1hex
return {redis.sha1hex(""), redis.sha1hex("abc"), redis.sha1hex(12)}
--- redis.sha1hex wants one argument
return redis.sha1hex()
--- redis.error_reply
return redis.error_reply("MY err")
--- redis.error_reply without a code
return redis.error_reply("plain")
--- redis.status_reply
return redis.status_reply("FINE")
--- redis.error_reply wants a string
return {pcall(redis.error_reply, 1)}
--- redis.set_repl and replicate_commands
redis.set_repl(redis.REPL_ALL) redis.set_repl(redis.REPL_NONE) return {redis.replicate_commands(), redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.REPL_ALL}
--- redis.set_repl refuses bad flags
return redis.set_repl(8)
--- redis.set_repl wants an argument
return redis.set_repl()
--- redis.breakpoint and redis.debug without a debugger
return {redis.breakpoint(), redis.debug("x")}
--- redis.setresp
redis.setresp(3) redis.setresp(2) return 1
--- redis.setresp refuses 4
return redis.setresp(4)
--- library names
local out = {} for _, lib in ipairs({'cjson','cmsgpack','bit','struct'}) do local t = {} for k in pairs(_G[lib]) do t[#t+1] = k end table.sort(t) out[#out+1] = lib .. ':' .. table.concat(t, ',') end return out
--- math.randomseed restarts Redis's generator
math.randomseed(42) return {math.random(1000000), math.random(1000000), math.random(5,10), tostring(math.random())}
