/* testlib.c - helpers shared by the Check suites. */
#include "testlib.h"

#include "mc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ts_open(struct tsession *t)
{
	memset(t, 0, sizeof *t);
	t->fout = open_memstream(&t->out, &t->outlen);
	t->ferr = open_memstream(&t->err, &t->errlen);
	t->s = session_new(t->fout, t->ferr);
}

bool ts_run(struct tsession *t, const char *text)
{
	bool ok = session_run(t->s, "-e", text, strlen(text));
	ts_flush(t);
	return ok;
}

void ts_flush(struct tsession *t)
{
	fflush(t->fout);
	fflush(t->ferr);
}

void ts_reset(struct tsession *t)
{
	/* new streams: a rewound memstream keeps the old bytes past a shorter write */
	fclose(t->fout);
	fclose(t->ferr);
	free(t->out);
	free(t->err);
	t->out = t->err = NULL;
	t->outlen = t->errlen = 0;
	t->fout = open_memstream(&t->out, &t->outlen);
	t->ferr = open_memstream(&t->err, &t->errlen);
	t->s->out = t->fout;
	t->s->err = t->ferr;
}

void ts_close(struct tsession *t)
{
	session_free(t->s);
	fclose(t->fout);
	fclose(t->ferr);
	free(t->out);
	free(t->err);
	memset(t, 0, sizeof *t);
}

char *ts_eval(const char *text, bool *ok)
{
	struct tsession t;
	ts_open(&t);
	bool r = ts_run(&t, text);
	if (ok)
		*ok = r;
	char *out = strdup(r ? t.out : t.err);
	size_t n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	ts_close(&t);
	return out;
}

struct expr *ts_resolve(struct tsession *t, const char *text, char **err)
{
	struct parse p;
	struct expr *e = NULL;
	*err = NULL;
	if (!parse_text_names(&p, t->s->mc, text, strlen(text), false, session_knows_name, t->s)) {
		*err = mc_xstrdup(p.err ? p.err : "syntax error");
	} else if (p.nitems != 1 || p.items[0]->kind != STMT_EXPR) {
		*err = mc_xstrdup("not one expression");
	} else {
		e = session_resolve(t->s, p.items[0]->kids[0]);
		if (!e) {
			*err = mc_xstrdup(t->s->mc->err.msg ? t->s->mc->err.msg : "?");
			mc_clear_error(t->s->mc);
		}
	}
	parse_free(&p);
	return e;
}

int ts_run_suite(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void ts_split_case(const char *in, char *decl, char *expr, size_t n)
{
	const char *semi = strrchr(in, ';');
	if (semi && strncmp(in, "let", 3) == 0) {
		snprintf(decl, n, "%.*s", (int)(semi - in), in);
		snprintf(expr, n, "%s", semi + 1 + (semi[1] == ' '));
	} else {
		decl[0] = '\0';
		snprintf(expr, n, "%s", in);
	}
}

