/*
 * proc.h: who this process is, in words another process can check later:
 * "HOST/PIDNS PID START", PIDNS the inode of its pid namespace and START
 * its start time in clock ticks since boot, so that a recycled pid, or pid
 * 1 of another container with the same host name, is not taken for it.
 */
#ifndef HCA_PROC_H
#define HCA_PROC_H

/* This process (computed once; the pid must not change after). */
const char	*proc_self(void);
/*
 * Is the process an identity names still running?  1 yes, 0 no (its pid
 * is gone or is another process's now), -1 cannot tell: it is on another
 * host or in another pid namespace, or the text is not an identity.
 */
int		 proc_alive(const char *id);

#endif
