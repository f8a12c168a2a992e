/* proc.c: process identities that survive pid reuse (see proc.h). */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* The start time of a process (/proc/PID/stat, field 22), 0 if unknown. */
static unsigned long long
start_time(const char *path)
{
	char			 stat[1024], *p;
	unsigned long long	 start = 0;
	ssize_t			 n;
	int			 fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if ((n = read(fd, stat, sizeof(stat) - 1)) > 0) {
		stat[n] = '\0';
		/* Counted after the ") " that ends the command's name. */
		if ((p = strrchr(stat, ')')) != NULL)
			for (i = 3, p += 2; p && i < 22; i++)
				if ((p = strchr(p, ' ')) != NULL)
					p++;
		if (p)
			start = strtoull(p, NULL, 10);
	}
	close(fd);
	return start;
}

const char *
proc_self(void)
{
	static char	 me[512];
	char		 host[256], *p;
	struct stat	 ns;

	if (me[0])
		return me;
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p; p++)
		if (*p == ' ' || *p == '\n' || *p == '/' || *p == '"' ||
		    *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
	if (stat("/proc/self/ns/pid", &ns) == -1)
		ns.st_ino = 0;
	snprintf(me, sizeof(me), "%s/%llu %d %llu", host,
	    (unsigned long long)ns.st_ino, (int)getpid(),
	    start_time("/proc/self/stat"));
	return me;
}

int
proc_alive(const char *id)
{
	char			 where[300], mine[300], path[64];
	unsigned long long	 start;
	int			 pid;

	if (sscanf(id, "%299s %d %llu", where, &pid, &start) != 3 ||
	    start == 0 || pid <= 0)
		return -1;
	strlcpy(mine, proc_self(), sizeof(mine));
	*strchr(mine, ' ') = '\0';
	/* (pid namespace 0: unknown, so not known to be ours) */
	if (strcmp(where, mine) != 0 || strstr(mine, "/0") != NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return start_time(path) == start;
}
