/* session.h - one user session: declarations, definitions, values, options; runs statements. */
#ifndef SESSION_H
#define SESSION_H

#include <stdio.h>

#include "expr.h"
#include "syn.h"

struct rules;
struct rw_memo;
struct steps;
struct value;
struct verify_report;

struct def {
	const char *name; /* interned */
	struct expr *e;
};

struct binding {
	const struct decl *decl;
	struct value *v; /* owned by the session */
};

struct session {
	struct mc *mc;
	struct decl **decls;
	int ndecls, capdecls;
	struct def *defs;
	int ndefs, capdefs;
	struct binding *binds;
	int nbinds, capbinds;
	int generation;
	struct rules *rules; /* NULL until loaded */
	const char
	    *rules_dir;	   /* --rules or MATCALC_RULES (dirs separated by ':'), else the default */
	bool rules_failed; /* loading was tried and failed: report once */
	struct steps *cur_steps; /* where the derivation's steps go (--steps), or NULL */
	bool steps_shown;
	struct expr *shape_hint;
	    /* the statement before it was worked out: its shape sizes a bare I */ /* the last
										      derivation
										      printed its
										      steps (and so
										      its result) */
	bool no_table;
	struct expr *unsym;
	struct rw_memo *memos; /* normal forms while a statement runs (src/rewrite.c) */
	int nmemos;
	    /* while differentiating in it: a symmetric variable is not treated as symmetric */ /* differentiate
												   by differentials only, skipping [gradient] rules */
	unsigned stmt_serial; /* the statement being resolved (marks in struct mc_name) */
	/* options */
	bool latex, steps, emit_numpy, emit_c;
	bool steps_all;		 /* --steps=all: every rule applied, not the textbook's lines */
	bool pretty;		 /* --pretty: Unicode output (Xᵀ, X⁻¹, ‖x‖²) */
	const char *steps_fname; /* the statement's function is this defined name (for --steps) */
	bool hide_answer;	     /* --hide-answer: no correct answer of a failed check */
	struct verify_report *check; /* the last check's verdict (owned), or NULL */
	bool format_json;	    /* --format=json: one JSON object per statement */
	const char *gradescope_dir; /* --gradescope DIR: grade writes results.json there */
	const char *derivation;	    /* --check-derivation FILE (the program runs it) */
	/* a derivation's `d f` line of f(θ): check draws the other differentials 0 */
	const struct decl *check_wrt;
	unsigned long seed;
	uint64_t rng[2];
	FILE *out, *err;
	/* the result of the statements run so far: 0 ok, 1 a check failed, 2 an error */
	int status;
	/* the text being run, for error carets */
	const char *where;
	const char *src;
	size_t srclen;
	/* what the statement being run gave, for the library's results (src/api.c):
	 * its result expression (NULL when none), and its error as reported */
	struct expr *result;
	char *error_msg; /* owned; NULL when no error was reported */
	struct loc error_loc;
};

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

/* Resolves a parsed expression to a node; NULL with s->mc's error set. */
struct expr *session_resolve(struct session *s, const struct syn *syn);

/* Looks up names. */
const struct decl *session_decl(struct session *s, const char *name);
const struct def *session_def(struct session *s, const char *name);

/* Makes name an implicit scalar (a = 2.5 for an undeclared, lowercase a). */
const struct decl *session_declare_scalar(struct session *s, const char *name);

/* Reports mc's error (with the statement's location when it has none) and
 * clears it. */
void session_report(struct session *s, struct loc fallback);

/* Names a REPL user can complete: functions, commands, declared and defined names.
 * Calls fn for each. */
void session_names(struct session *s, void (*fn)(void *, const char *), void *arg);

/* The edit-distance suggestion for an unknown function name, or NULL. */
const char *session_suggest_function(const char *name);

#endif
