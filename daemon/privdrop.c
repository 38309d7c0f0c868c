/*
 * privdrop.c - owns the switch from root to `user` after start-up: looked up
 * before anything else starts (an unknown user stops certflowd at once), then
 * applied once the listener is bound and the keys are read. Never returns
 * half-switched: any failed step fails the whole, and the caller exits.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <certflow/log.h>

#include "privdrop.h"

/* getpwnam's "not found": errno 0, or one of those getpwnam(3) lists for it. */
static bool
unknown_user(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

bool
privdrop_prepare(const char *user, struct privdrop *pd, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t euid = geteuid();

	memset(pd, 0, sizeof(*pd));
	if (user == NULL || user[0] == '\0')
		return true;
	if (strlen(user) >= sizeof(pd->name)) {
		snprintf(err, errlen, "user '%.32s...': name too long", user);
		return false;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user '%s': %s", user,
		    unknown_user(errno) ? "no such user" : strerror(errno));
		return false;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user '%s' is root: name an unprivileged user", user);
		return false;
	}
	if (euid != 0 && euid != pw->pw_uid) {
		snprintf(err, errlen, "user '%s': certflowd runs as uid %d and cannot switch to "
		    "uid %d (start it as root, or as that user)", user, (int)euid, (int)pw->pw_uid);
		return false;
	}
	pd->wanted = true;
	pd->switch_ids = euid == 0;
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	snprintf(pd->name, sizeof(pd->name), "%s", user);
	return true;
}

bool
privdrop_apply(const struct privdrop *pd)
{
	const char *step = NULL;

	if (!pd->wanted) {
		if (geteuid() == 0)
			log_warn("running as root: set `user` to drop privileges after start-up");
		return true;
	}
	if (!pd->switch_ids)
		return true;	/* already running as that user */
	/* glibc applies each of these to every thread of the process. */
	if (initgroups(pd->name, pd->gid) != 0)
		step = "initgroups";
	else if (setgid(pd->gid) != 0)
		step = "setgid";
	else if (setuid(pd->uid) != 0)
		step = "setuid";
	if (step != NULL) {
		log_error("cannot drop privileges to user %s (uid %d, gid %d): %s: %s",
		    pd->name, (int)pd->uid, (int)pd->gid, step, strerror(errno));
		return false;
	}
	if (setuid(0) == 0 || geteuid() == 0 || getegid() != pd->gid) {
		log_error("dropping privileges to user %s: root could be regained", pd->name);
		return false;
	}
	log_info("dropped privileges to user %s (uid %d, gid %d)", pd->name, (int)pd->uid,
	    (int)pd->gid);
	return true;
}
