/*
 * journal.h: replies kept on disk (HCA_STATE_DIR), written durably before
 * they are published, so that a redelivered request whose reply exists is
 * answered again without running its hook.
 */
#ifndef HCA_JOURNAL_H
#define HCA_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open the journal in the directory dirfd (taken over; dir names it in
 * messages); removes leftovers and expired entries.
 */
int	 journal_open(int dirfd, const char *dir, int64_t ttl_ms, size_t max);
void	 journal_close(void);
/*
 * Write the reply of type to the request corr of kind durably; -1 with
 * errno on failure.  kind and type are names.
 */
int	 journal_put(const void *corr, size_t corrlen, const char *kind,
	    const char *type, const char *body, size_t len);
/*
 * Look up the reply to corr, a request of kind: 1 and the reply (its type,
 * a string of the kinds table, and its body, malloc'd) if an entry for that
 * correlation id and kind holds a reply that kind can have; 0 if not, or if
 * the entry is damaged (logged).
 */
int	 journal_get(const void *corr, size_t corrlen, const char *kind,
	    const char **type, char **body, size_t *len, int *confirmed);
/*
 * The broker confirmed the reply to corr: mark its entry so (not synced:
 * losing the mark costs a duplicate reply, never a lost one).
 */
void	 journal_confirmed(const void *corr, size_t corrlen);
/*
 * Claims, so that several agents can share one state directory: before an
 * agent runs the hook of request corr it takes the request's claim; while
 * another agent that is alive holds it (it runs that hook), the request
 * must wait for that agent's reply in the journal.  A claim names its
 * owner (host and pid namespace, pid, start time) and lapses when its
 * owner has not touched it for CLAIM_LEASE_MS (journal_claim_touch(), every
 * CLAIM_LEASE_MS / 3 while the hook runs) or, in this host's pid namespace,
 * when the owner's process is gone.
 */
#define CLAIM_LEASE_MS	30000
enum claim {
	CLAIM_TAKEN,		/* ours now: run the hook */
	CLAIM_HELD,		/* another agent's: wait for its reply */
	CLAIM_NONE		/* no journal, or it failed (logged): run it */
};
enum claim	 journal_claim(const void *corr, size_t corrlen);
void		 journal_claim_touch(const void *corr, size_t corrlen);
void		 journal_unclaim(const void *corr, size_t corrlen);

/* Drop entries past their time and the oldest beyond the maximum. */
void	 journal_sweep(void);
/*
 * Can entries be written?  A file of need bytes (at least 64 KiB) is
 * written, synced and removed: 0, or -1 with errno.
 */
int	 journal_probe(size_t need);

#endif
