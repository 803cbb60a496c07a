package resp

import "fmt"

// Errors of CLIENT's subcommands, worded as redis-server words them (KILL
// and NO-EVICT as 7.0.15, SETINFO as 7.2, which added it).
var (
	// ErrNoSuchClient: CLIENT KILL ip:port (the old form) matched nobody.
	ErrNoSuchClient = Error("ERR No such client")
	// ErrKillClientID: CLIENT KILL ID's value is not an integer >= 1.
	ErrKillClientID = Error("ERR client-id should be greater than 0")
)

// ErrUnknownClientType is CLIENT KILL's and CLIENT LIST's reply to a TYPE
// Redis does not know.
func ErrUnknownClientType(t []byte) Error {
	return Sanitize(fmt.Sprintf("ERR Unknown client type '%s'", clip(t, len(t))))
}

// ErrNoSuchUser is CLIENT KILL USER's reply to a user that does not exist.
func ErrNoSuchUser(user []byte) Error {
	return Sanitize(fmt.Sprintf("ERR No such user '%s'", clip(user, len(user))))
}

// ErrUnrecognizedOption is CLIENT SETINFO's reply to an attribute other
// than LIB-NAME and LIB-VER.
func ErrUnrecognizedOption(attr []byte) Error {
	return Sanitize(fmt.Sprintf("ERR Unrecognized option '%s'", clip(attr, len(attr))))
}

// ErrClientAttr is CLIENT SETINFO's reply to a value with a space, a
// newline or a special character; Redis names the attribute as given.
func ErrClientAttr(attr []byte) Error {
	return Sanitize(fmt.Sprintf("ERR %s cannot contain spaces, newlines or special characters.", clip(attr, len(attr))))
}
