/* testlib.h - helpers shared by the Check suites: a session that prints into strings. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <check.h>

#include "statement.h"

/* A session whose output and errors go to memory buffers. */
struct tsession {
	struct session *s;
	char *out, *err;
	size_t outlen, errlen;
	FILE *fout, *ferr;
};

void ts_open(struct tsession *t);
/* Runs text; returns whether it succeeded. The output so far is in t->out / t->err
 * after ts_flush. */
bool ts_run(struct tsession *t, const char *text);
void ts_flush(struct tsession *t);
/* Clears the captured output. */
void ts_reset(struct tsession *t);
void ts_close(struct tsession *t);

/* Resolves the one expression statement of text in t's session (no simplification);
 * NULL with *err set (owned) when it does not parse or resolve. */
struct expr *ts_resolve(struct tsession *t, const char *text, char **err);

/* Runs text in a fresh session and returns its output (owned; free it), with
 * the trailing newline removed. *ok is whether it succeeded. */
char *ts_eval(const char *text, bool *ok);

/* Splits a case of tests/diff_cases.inc, "let ...; grad(...)", into the
 * declarations (empty when there are none) and the statement; n is the size of each. */
void ts_split_case(const char *in, char *decl, char *expr, size_t n);

/* Runs a Check suite; the process's exit status (EXIT_FAILURE when a test failed). */
int ts_run_suite(Suite *suite);

#endif
