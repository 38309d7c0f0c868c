/*
 * main.c - certflowd's life: arguments, configuration, schema check, the
 * event loop, and the signals that steer it (SIGTERM/SIGINT drain and stop,
 * SIGHUP reloads the TLS certificate, the report and signing keys and the log
 * level). Dies only at startup.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <certflow/config.h>
#include <certflow/log.h>
#include <certflow/seal.h>
#include <certflow/sign.h>

#include "audit_sealer.h"
#include "credentials.h"
#include "db_host.h"
#include "db_migrate.h"
#include "db_pool.h"
#include "deadline.h"
#include "metrics.h"
#include "privdrop.h"
#include "reports.h"
#include "routes.h"
#include "server.h"
#include "signer.h"
#include "tls.h"

#define DRAIN_POLL_MS	50
#define FLUSH_GRACE_MS	200	/* lets the last answers leave before closing */

struct daemon {
	const char *config_path;
	struct config cfg;
	struct event_base *base;
	struct tls *tls;
	struct db_pool *pool;
	struct server *srv;
	struct deadline_scanner *deadline;
	struct signer *signer;
	struct audit_sealer *sealer;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *drain_timer;
	struct timespec drain_deadline;
	bool stopping;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: certflowd -c FILE [--check-config | --migrate]\n"
	    "  -c, --config FILE   configuration file (key = value lines)\n"
	    "      --check-config  validate the configuration and TLS files, then exit\n"
	    "      --migrate       apply pending sql/ migrations, then exit\n");
	exit(2);
}

static bool
drain_done(struct daemon *d)
{
	struct timespec now;

	if (server_inflight(d->srv) == 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > d->drain_deadline.tv_sec ||
	    (now.tv_sec == d->drain_deadline.tv_sec &&
	     now.tv_nsec >= d->drain_deadline.tv_nsec)) {
		log_warn("shutdown_timeout reached with %d requests in flight",
		    server_inflight(d->srv));
		return true;
	}
	return false;
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval grace = { 0, FLUSH_GRACE_MS * 1000 };

	if (!drain_done(d))
		return;
	event_del(d->drain_timer);
	event_base_loopexit(d->base, &grace);
}

static void
on_terminate(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval poll = { 0, DRAIN_POLL_MS * 1000 };

	if (d->stopping) {
		log_info("signal %d: already stopping", (int)sig);
		return;
	}
	d->stopping = true;
	log_info("signal %d: no longer accepting; draining %d requests (at most %d s)",
	    (int)sig, server_inflight(d->srv), d->cfg.shutdown_timeout_s);
	server_stop_accepting(d->srv);
	clock_gettime(CLOCK_MONOTONIC, &d->drain_deadline);
	d->drain_deadline.tv_sec += d->cfg.shutdown_timeout_s;
	event_add(d->drain_timer, &poll);
	drain_cb(-1, 0, d);
}

/* SIGHUP: validates the whole file, then applies the reloadable keys. */
static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config fresh = { 0 };
	char err[512];

	if (!config_load(d->config_path, &fresh, err, sizeof(err))) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (!tls_reload(d->tls, &fresh, err, sizeof(err))) {
		log_error("reload refused, keeping the running certificate: %s", err);
		config_free(&fresh);
		return;
	}
	if (!reports_reload(&fresh, err, sizeof(err)))
		log_error("report keys not reloaded, keeping the running ones: %s", err);
	if (!credentials_reload(&fresh, err, sizeof(err)))
		log_error("signing keys not reloaded, keeping the running ones: %s", err);
	log_threshold = (enum log_level)fresh.log_level;
	d->cfg.log_level = fresh.log_level;
	config_free(&fresh);
	log_info("reloaded the TLS certificate and key, the report and signing keys and log_level "
	    "(other keys take effect at restart)");
}

static bool
add_signal(struct daemon *d, struct event **ev, int sig, event_callback_fn cb)
{
	*ev = evsignal_new(d->base, sig, cb, d);
	return *ev != NULL && event_add(*ev, NULL) == 0;
}

static bool
daemon_start(struct daemon *d)
{
	const struct db_statement *stmts;
	int nstmts;
	char err[512];

	if ((d->base = event_base_new()) == NULL) {
		log_error("cannot create the event loop");
		return false;
	}
	if ((d->tls = tls_new(&d->cfg, err, sizeof(err))) == NULL) {
		log_error("TLS: %s", err);
		return false;
	}
	if (!routes_init(&d->cfg) || !metrics_init(routes_labels(), nroutes)) {
		log_error("out of memory");
		return false;
	}
	if (!reports_init(d->base, &d->cfg, err, sizeof(err))) {
		log_error("reports: %s", err);
		return false;
	}
	if (!credentials_init(&d->cfg, err, sizeof(err))) {
		log_error("credentials: %s", err);
		return false;
	}
	stmts = routes_statements(&nstmts);
	if ((d->pool = db_pool_new(d->base, &d->cfg, stmts, nstmts)) == NULL) {
		log_error("cannot create the database pool");
		return false;
	}
	if ((d->srv = server_new(d->base, &d->cfg, d->tls, d->pool, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return false;
	}
	if ((d->deadline = deadline_new(d->base, d->pool, &d->cfg)) == NULL) {
		log_error("cannot start the deadline scanner");
		return false;
	}
	if ((d->signer = signer_new(d->base, d->pool, &d->cfg)) == NULL) {
		log_error("cannot start the credential signer");
		return false;
	}
	if ((d->sealer = audit_sealer_new(d->base, d->pool, &d->cfg)) == NULL) {
		log_error("cannot start the audit sealer");
		return false;
	}
	d->drain_timer = event_new(d->base, -1, EV_PERSIST, drain_cb, d);
	if (d->drain_timer == NULL ||
	    !add_signal(d, &d->sig_term, SIGTERM, on_terminate) ||
	    !add_signal(d, &d->sig_int, SIGINT, on_terminate) ||
	    !add_signal(d, &d->sig_hup, SIGHUP, on_reload)) {
		log_error("cannot install signal handlers");
		return false;
	}
	return true;
}

/* Frees in dependency order: the pool answers what still waits before evhttp goes. */
static void
daemon_stop(struct daemon *d)
{
	struct event *evs[] = { d->sig_term, d->sig_int, d->sig_hup, d->drain_timer };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	reports_free();		/* its workers' last answers may still use the pool */
	db_pool_free(d->pool);
	deadline_free(d->deadline);
	signer_free(d->signer);
	audit_sealer_free(d->sealer);
	credentials_free();
	server_free(d->srv);
	tls_free(d->tls);
	metrics_free();
	routes_free();
	if (d->base != NULL)
		event_base_free(d->base);
	config_free(&d->cfg);
}

static int
check_config(struct daemon *d)
{
	char err[512];
	struct tls *tls = tls_new(&d->cfg, err, sizeof(err));

	if (tls == NULL) {
		fprintf(stderr, "certflowd: %s: TLS: %s\n", d->config_path, err);
		return 1;
	}
	tls_free(tls);
	{
		char *name = NULL;

		if (db_host_classify(d->cfg.db_conninfo, &name, err, sizeof(err)) ==
		    DB_HOST_REFUSED) {
			fprintf(stderr, "certflowd: %s: %s\n", d->config_path, err);
			return 1;
		}
		free(name);
	}
	{
		struct privdrop drop;

		if (!privdrop_prepare(d->cfg.user, &drop, err, sizeof(err))) {
			fprintf(stderr, "certflowd: %s: %s\n", d->config_path, err);
			return 1;
		}
	}
	if (d->cfg.report_key_file[0] != '\0') {
		struct seal_keyring ring = { NULL, 0 };

		if (!seal_keyring_load(d->cfg.report_key_file, &ring, err, sizeof(err))) {
			fprintf(stderr, "certflowd: %s: %s\n", d->config_path, err);
			return 1;
		}
		seal_keyring_free(&ring);
	}
	if (d->cfg.signing_key_file[0] != '\0') {
		struct sign_keyring ring = { NULL, 0 };

		if (!sign_keyring_load(d->cfg.signing_key_file, &ring, err, sizeof(err))) {
			fprintf(stderr, "certflowd: %s: %s\n", d->config_path, err);
			return 1;
		}
		if (sign_current(&ring) == NULL) {
			fprintf(stderr, "certflowd: %s: %s: no key with a private part: "
			    "nothing can sign\n", d->config_path, d->cfg.signing_key_file);
			sign_keyring_free(&ring);
			return 1;
		}
		sign_keyring_free(&ring);
	}
	printf("%s: configuration OK\n", d->config_path);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { 0 };
	struct privdrop drop;
	bool check = false, migrate = false;
	char err[512];
	int ch, status = 1;

	log_init("certflowd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': d.config_path = optarg; break;
		case 'k': check = true; break;
		case 'm': migrate = true; break;
		default: usage();
		}
	}
	if (d.config_path == NULL || optind != argc || (check && migrate))
		usage();
	if (!config_load(d.config_path, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "certflowd: %s\n", err);
		return 2;
	}
	log_threshold = (enum log_level)d.cfg.log_level;
	if (check) {
		status = check_config(&d);
		config_free(&d.cfg);
		return status;
	}
	if (migrate) {
		status = migrate_apply(d.cfg.db_conninfo, d.cfg.sql_dir) ? 0 : 1;
		config_free(&d.cfg);
		return status;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!privdrop_prepare(d.cfg.user, &drop, err, sizeof(err))) {
		log_error("%s", err);
		config_free(&d.cfg);
		return 1;
	}
	if (!migrate_check(d.cfg.db_conninfo, err, sizeof(err))) {
		log_error("%s", err);
		config_free(&d.cfg);
		return 1;
	}
	/* Root only while binding and reading the keys: SIGHUP reloads read as `user`. */
	if (daemon_start(&d) && privdrop_apply(&drop)) {
		log_info("certflowd started (pid %d, %d pooled connections)",
		    (int)getpid(), d.cfg.db_pool_size);
		event_base_dispatch(d.base);
		status = 0;
	}
	daemon_stop(&d);
	log_info("certflowd stopped");
	return status;
}
