/* session.h - one user session's state (declarations, definitions, values, options), and
 * resolving syntax into shaped nodes with its names. Running statements is
 * statement.h's (a higher layer); struct session is defined here because every
 * layer from rewriting up works in it. */
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

/* The parser's question (ctx is the session): is name declared by a let or
 * defined? A LaTeX word that is one stays whole (parse_text_names). */
bool session_knows_name(void *ctx, const char *name);

/* Resolves a parsed expression to a node; NULL with s->mc's error set. */
struct expr *session_resolve(struct session *s, const struct syn *syn);

/* Looks up names. */
const struct decl *session_decl(struct session *s, const char *name);
const struct def *session_def(struct session *s, const char *name);

/* Declares name (an earlier declaration or definition of it is dropped: the
 * caller first unbinds a dropped declaration's value, see session_forget). */
struct decl *session_add_decl(struct session *s, const char *name, enum decl_kind kind, int rows,
			      int cols, bool implicit);
/* Drops name's declaration and definition; returns the dropped declaration
 * (whose value, if bound, the caller unbinds: values are a higher layer) or NULL. */
const struct decl *session_forget(struct session *s, const char *name);
/* Defines name as e (dropping its declaration: session_forget first). */
void session_define(struct session *s, const char *name, struct expr *e);
/* A size argument (a name or a positive whole number): its dimension, or -2
 * with the error set. */
int session_resolve_dim(struct session *s, const struct syn *n);
/* Whether name is a statement-only command (eval, check, solve, ...). */
bool session_is_command(const char *name);
/* Sets mc's error at n's location; returns false. */
bool session_fail_at(struct session *s, const struct syn *n, enum mc_errkind k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The binding of d's value, or NULL (values themselves are value.c's). */
const struct binding *session_binding(struct session *s, const struct decl *d);
/* Notes the names a statement mentions before it is resolved (what the
 * statement itself declares by typography). */
void session_begin_statement(struct session *s, const struct syn *st);

/* Makes name an implicit scalar (a = 2.5 for an undeclared, lowercase a). */
const struct decl *session_declare_scalar(struct session *s, const char *name);

/* Names a REPL user can complete: functions, commands, declared and defined names.
 * Calls fn for each. */
void session_names(struct session *s, void (*fn)(void *, const char *), void *arg);

/* The edit-distance suggestion for an unknown function name, or NULL. */
const char *session_suggest_function(const char *name);

#endif
