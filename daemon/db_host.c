/*
 * db_host.c - which database host name certflowd must look up itself.
 * libpq resolves a host name inside PQconnectStart, on the calling thread:
 * on the event loop that would hold every request for as long as DNS takes,
 * at each reconnect. db_pool.c therefore resolves the one name found here
 * with evdns and gives libpq the address as hostaddr, keeping host for TLS
 * verification and the password file. Addresses and socket directories need
 * no lookup; a list of several hosts with a name in it is refused, with the
 * fix in the message (give their addresses in hostaddr).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db_host.h"

/* True for an IPv4 or IPv6 address, a socket directory or an abstract socket. */
static bool
host_is_direct(const char *h, size_t len)
{
	char buf[64];
	unsigned char addr[sizeof(struct in6_addr)];

	if (len == 0 || h[0] == '/' || h[0] == '@')
		return true;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* The value of KEY in OPTS, falling back to the environment variable ENV; "" when none. */
static const char *
option_value(const PQconninfoOption *opts, const char *key, const char *env)
{
	const char *v = NULL;

	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0)
			v = o->val;
	if (v == NULL || v[0] == '\0')
		v = getenv(env);
	return v != NULL ? v : "";
}

/* Classifies HOSTS, a comma-separated list; sets *NAME for a lone name. */
static enum db_host_kind
hosts_classify(const char *hosts, char **name, char *err, size_t errlen)
{
	const char *comma = strchr(hosts, ',');

	if (comma == NULL) {
		if (host_is_direct(hosts, strlen(hosts)))
			return DB_HOST_DIRECT;
		if ((*name = strdup(hosts)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return DB_HOST_REFUSED;
		}
		return DB_HOST_LOOKUP;
	}
	for (const char *h = hosts; h != NULL; h = comma != NULL ? comma + 1 : NULL) {
		comma = strchr(h, ',');
		if (!host_is_direct(h, comma != NULL ? (size_t)(comma - h) : strlen(h))) {
			snprintf(err, errlen, "db_conninfo: a list of hosts must give each "
			    "one's address (hostaddr=a,b,...): libpq would look the names "
			    "up on certflowd's event loop");
			return DB_HOST_REFUSED;
		}
	}
	return DB_HOST_DIRECT;
}

enum db_host_kind
db_host_classify(const char *conninfo, char **name, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	char *perr = NULL;
	enum db_host_kind kind;

	*name = NULL;
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		snprintf(err, errlen, "db_conninfo: %s",
		    perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return DB_HOST_REFUSED;
	}
	if (option_value(opts, "hostaddr", "PGHOSTADDR")[0] != '\0')
		kind = DB_HOST_DIRECT;
	else
		kind = hosts_classify(option_value(opts, "host", "PGHOST"), name, err, errlen);
	PQconninfoFree(opts);
	return kind;
}
