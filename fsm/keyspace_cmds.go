package fsm

// keyspaceCommands work on keys whatever they hold.
var keyspaceCommands = []Command{}
