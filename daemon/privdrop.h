/*
 * privdrop.h - the optional switch from root to the configured `user` once
 * certflowd holds what only root may take (the listening socket, the TLS,
 * report and signing keys). Files opened later, by a SIGHUP reload, are read
 * as that user.
 */
#ifndef CERTFLOW_PRIVDROP_H
#define CERTFLOW_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop {
	bool wanted;		/* `user` is set */
	bool switch_ids;	/* running as root: setgroups, setgid, setuid */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/*
 * Resolves USER ("" or NULL: no switch) into PD. False with ERR when the user
 * does not exist, is root, or when certflowd runs as another user than root
 * or USER (it could not switch).
 */
bool privdrop_prepare(const char *user, struct privdrop *pd, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Switches to PD's user (supplementary groups, gid, then uid) and checks root
 * cannot be regained; logs what it did, or warns that root keeps running
 * when no user is set. False (logged) on any failure: the caller must stop.
 */
bool privdrop_apply(const struct privdrop *pd) __attribute__((warn_unused_result));

#endif
