package cluster

// What the operating system tells: the system's name, the process's CPU
// time and the machine's memory for INFO, and what the kernel knows about
// a socket, asked without reading from it or blocking — whether an idle
// upstream connection is still fit to carry a request (alive), and whether
// a blocked client has hung up (peerClosed). Linux answers both exactly
// (POLLRDHUP sees a hang-up even behind unread pipelined commands); other
// Unixes answer what poll and a peek can see; elsewhere (Windows) the
// answers are the safe ones: an idle upstream is never reused (a new one
// is dialled), and a blocked client's hang-up is noticed when its answer
// is written, as it ends through the log anyway.
