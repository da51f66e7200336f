/*
 * privdrop.c — initgroups, setgid, setuid; then prove it cannot be undone.
 */
#include "capture/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cs_drop_privileges(const char *user, char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "cannot drop privileges: no user '%s'%s%s",
			 user, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;

	if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		snprintf(err, errlen, "cannot drop privileges to '%s' "
			 "(uid %u, gid %u): %s", user, (unsigned)uid,
			 (unsigned)gid, strerror(errno));
		return -1;
	}
	/* A process that can become root again has not dropped anything. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "dropping privileges to '%s' did not "
			 "stick: the process can still become root", user);
		return -1;
	}
	return 0;
}
