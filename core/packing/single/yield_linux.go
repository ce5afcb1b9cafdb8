package single

import "syscall"

// yield lets any other runnable thread, of this process or another, have this
// processor (sched_yield), and returns at once when there is none: a spin that gives
// way to work on a loaded machine.
func yield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
