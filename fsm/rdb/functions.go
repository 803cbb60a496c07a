package rdb

import (
	"errors"
)

// RDB opcodes of function libraries (rdb.h): RDB_OPCODE_FUNCTION2 holds a
// library's code; RDB_OPCODE_FUNCTION, of Redis 7.0's release candidates,
// its name, engine, description and code apart.
const (
	opFunction2 = 245
	opFunction  = 246
)

// DumpFunctions is FUNCTION DUMP's payload: each library's code after
// RDB_OPCODE_FUNCTION2, in the order given, then the RDB version and CRC64.
func DumpFunctions(codes []string) []byte {
	htab := make([]int32, lzfHSize)
	var b []byte
	for _, code := range codes {
		b = appendString(append(b, opFunction2), []byte(code), htab)
	}
	return Seal(b)
}

// Errors DecodeFunctions answers besides ErrChecksum, worded as Redis's
// FUNCTION RESTORE words them (after "ERR ").
var (
	errFuncType    = errors.New("can not read data type")
	errNotFunction = errors.New("given type is not a function")
)

// DecodeFunctions reads a FUNCTION RESTORE payload as Redis does: Check,
// then records up to the last 10 bytes (which may be read into, as Redis
// reads from the whole buffer), each a library's code; an old-format
// record is turned into code as Redis turns it ("#!engine name=name\n" and
// its blob). limit bounds what the codes may take once decoded.
func DecodeFunctions(payload []byte, limit int) ([]string, error) {
	if err := check(payload); err != nil {
		return nil, err
	}
	r := &reader{b: payload, budget: limit}
	var codes []string
	for len(r.b) > 10 {
		t, err := r.byte()
		if err != nil {
			return nil, errFuncType
		}
		switch t {
		case opFunction2:
			code, err := r.str()
			if err != nil {
				return nil, errors.New("Failed loading library payload")
			}
			codes = append(codes, string(code))
		case opFunction:
			code, err := r.oldFunction()
			if err != nil {
				return nil, err
			}
			codes = append(codes, code)
		default:
			return nil, errNotFunction
		}
	}
	return codes, nil
}

// oldFunction reads an RDB_OPCODE_FUNCTION record.
func (r *reader) oldFunction() (string, error) {
	name, err := r.str()
	if err != nil {
		return "", errors.New("Failed loading library name")
	}
	engine, err := r.str()
	if err != nil {
		return "", errors.New("Failed loading engine name")
	}
	hasDesc, _, err := r.length() // rdbLoadLen: an encoding number is a length
	if err != nil {
		return "", errors.New("Failed loading library description indicator")
	}
	if hasDesc != 0 {
		if _, err := r.str(); err != nil {
			return "", errors.New("Failed loading library description")
		}
	}
	blob, err := r.str()
	if err != nil {
		return "", errors.New("Failed loading library blob")
	}
	return "#!" + cstr(engine) + " name=" + cstr(name) + "\n" + string(blob), nil
}

// cstr is b as C's %s prints it: up to its first NUL.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
