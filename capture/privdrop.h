/*
 * privdrop.h — give up root once the capture device is open.
 *
 * Opening a device needs root (or CAP_NET_RAW); parsing hostile packets
 * does not.  Order as in tcpdump: supplementary groups, then the group,
 * then the user — after setuid the process could no longer change groups.
 */
#ifndef CS_CAPTURE_PRIVDROP_H
#define CS_CAPTURE_PRIVDROP_H

#include <stddef.h>

int cs_drop_privileges(const char *user, char *err, size_t errlen);

#endif /* CS_CAPTURE_PRIVDROP_H */
