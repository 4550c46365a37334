/*
 * loadguard.c: is the database busy? (loadguard.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "err.h"
#include "loadguard.h"

int
loadguard_on(const struct config *cfg)
{
	const struct config_export *e = config_export(cfg);

	return e->load_max_active != 0 || e->load_max_lag != 0;
}

int
loadguard_sample(PGconn *c, struct loadguard_sample *s, char *err,
    size_t errlen)
{
	PGresult *res;
	int r = ERR_DB;

	memset(s, 0, sizeof(*s));
	/* Export roles are named exp_...: their sessions are the load the
	 * guard is for, not the load it measures. */
	res = PQexec(c, "SELECT (SELECT count(*) FROM "
	    "pg_catalog.pg_stat_activity a WHERE a.state = 'active' "
	    "AND a.backend_type = 'client backend' "
	    "AND a.pid <> pg_catalog.pg_backend_pid() "
	    "AND a.usename NOT LIKE 'exp\\_%'), "
	    "coalesce((SELECT ceil(max(extract(epoch FROM r.replay_lag))) "
	    "FROM pg_catalog.pg_stat_replication r), 0)::bigint, "
	    "pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "cannot sample the database's load: %s",
		    PQerrorMessage(c));
		goto out;
	}
	s->active = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	s->lag_s = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	s->sees_all = PQgetvalue(res, 0, 2)[0] == 't';
	r = 0;
 out:
	PQclear(res);
	return r;
}

int
loadguard_judge(const struct config *cfg, const struct loadguard_sample *s,
    int running, char *why, size_t whylen)
{
	const struct config_export *e = config_export(cfg);

	err_set(why, whylen, "%s", "");
	if (!loadguard_on(cfg))
		return 0;
	if (!s->sees_all) {
		err_set(why, whylen, "the load guard cannot see other "
		    "sessions: grant pg_monitor to the monitor's login, or "
		    "unset [export] load_max_active and load_max_lag");
		return ERR_PERM;
	}
	if (e->load_max_active != 0 && s->active > e->load_max_active) {
		err_set(why, whylen, "the database is busy: %llu active "
		    "sessions, over [export] load_max_active (%llu)",
		    (unsigned long long)s->active,
		    (unsigned long long)e->load_max_active);
		return 1;
	}
	if (e->load_max_lag != 0 && s->lag_s > e->load_max_lag &&
	    !(running && config_db_standby_host(cfg) != NULL)) {
		err_set(why, whylen, "a standby is %llu s behind, over "
		    "[export] load_max_lag (%llu s)",
		    (unsigned long long)s->lag_s,
		    (unsigned long long)e->load_max_lag);
		return 1;
	}
	return 0;
}
