/* statement.h - running statements in a session: let, definitions, commands, whole texts. */
#ifndef STATEMENT_H
#define STATEMENT_H

#include <stdio.h>

#include "session.h"

/* A text parsed into statements, run one at a time (matcalc_next). */
struct session_text {
	struct parse p;
	int next;	/* the statement to run next */
	bool stopped; /* a syntax error, or a statement failed: nothing more runs */
};

/* Creates a session writing results to out and errors to err. */
struct session *session_new(FILE *out, FILE *err);
void session_free(struct session *s);

/* Parses and runs the statements of a text. Errors are reported to s->err with
 * line:col and a caret; returns false on the first error (the session stays
 * usable). where names the text ("-e", "<stdin>", a file name). */
bool session_run(struct session *s, const char *where, const char *src, size_t len);

/* Like session_run, but reports whether the text ended inside an unfinished
 * statement (an open bracket): then nothing was run and *incomplete is true. */
bool session_run_repl(struct session *s, const char *src, size_t len, bool *incomplete);

/* Parses a text into t (which is then freed with session_text_free whatever
 * the result); where/src stay borrowed while t is run. A syntax error is
 * reported and returns false; with incomplete non-NULL, a text ending inside
 * an open bracket sets *incomplete and reports nothing. */
bool session_parse(struct session *s, struct session_text *t, const char *where, const char *src,
		   size_t len, bool *incomplete);
/* Runs the next statement of t; false after reporting its error (t stops).
 * *stmt (may be NULL) receives the statement run, NULL when none was left. */
bool session_run_next(struct session *s, struct session_text *t, const struct syn **stmt);
void session_text_free(struct session_text *t);

/* Reports mc's error (with the statement's location when it has none) and
 * clears it. */
void session_report(struct session *s, struct loc fallback);

#endif
