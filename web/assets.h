/*
 * assets.h — the dashboard's files, compiled into the binary.
 *
 * Generated from web/assets/ by web/embed.sh at build time, so the server
 * never reads the file system.  The table ends with a NULL path.
 */
#ifndef CS_WEB_ASSETS_H
#define CS_WEB_ASSETS_H

#include <stddef.h>

struct cs_asset {
	const char *path;		/* URL path: "/", "/app.js", ... */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct cs_asset cs_assets[];

#endif /* CS_WEB_ASSETS_H */
