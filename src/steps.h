/* steps.h - the records of a derivation (--steps) and how it prints: the lines a
 * textbook shows, each citing every rule it used, or every rule (--steps=all). */
#ifndef STEPS_H
#define STEPS_H

#include <stdio.h>

#include "print.h"
#include "rules.h"

struct rule;

enum step_kind {
	STEP_RULE,    /* rule turned before into after */
	STEP_NOTE,    /* the engine's own rewriting (like terms collected, d(A) of a symbol) */
	STEP_BEGIN,   /* the differential of fn in var is worked out from here (before: d(fn)) */
	STEP_READOFF, /* the gradient, Jacobian or Hessian (what) of fn in var, after,
			 read off the differential before */
};

struct step {
	enum step_kind kind;
	enum rule_show show;
	const struct rule *rule; /* STEP_RULE */
	const char *note;	 /* STEP_NOTE, STEP_READOFF: the citation (NULL: none) */
	bool builtin;		 /* a d(A) of a symbol: not a rule, left out of --steps=all */
	struct expr *before, *after;
	struct expr *fn, *var; /* STEP_BEGIN, STEP_READOFF */
	enum expr_op what;     /* STEP_READOFF: OP_GRAD, OP_JAC or OP_HESS */
};

struct steps {
	struct step *v;
	int n, cap;
};

/* Recording; every function does nothing when st is NULL. The expressions are
 * the session's (hash-consed), not owned. */
void steps_add(struct steps *st, const struct rule *r, struct expr *before, struct expr *after);
void steps_note(struct steps *st, enum rule_show show, const char *note, bool builtin,
		struct expr *before, struct expr *after);
void steps_begin(struct steps *st, struct expr *fn, struct expr *var, struct expr *d);
void steps_readoff(struct steps *st, enum expr_op what, struct expr *fn, struct expr *var,
		   struct expr *df, struct expr *result, const char *note);
void steps_free(struct steps *st);

/* How a derivation prints. */
struct steps_style {
	enum print_style style;	 /* PRINT_PLAIN, PRINT_LATEX (an align* block) or PRINT_PRETTY */
	bool all;		 /* every rule applied, a line each (--steps=all) */
	const char *fname;	 /* the name of the statement's function (f = ...), or NULL */
	const struct expr *fdef; /* what that name stands for */
};

/* Prints the derivation of stmt, which gave result, to out. */
void steps_print(struct mc *mc, FILE *out, const struct steps *st, const struct expr *stmt,
		 const struct expr *result, const struct steps_style *how);

#endif
