package fsm

// stringCommands exist so that a key can hold something other than a list
// and type errors behave exactly as in Redis.
var stringCommands = []Command{}
