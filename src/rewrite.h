/* rewrite.h - the engine that applies rules (rules.h): matching modulo
 * associativity and commutativity, conditions, building results, running to a
 * fixed point under a step limit. */
#ifndef REWRITE_H
#define REWRITE_H

#include "rules.h"
#include "session.h"
#include "steps.h"

/* A memo of normal forms, node -> node, for one section list, variable and
 * symmetric-variable setting. Kept in the session while one statement runs
 * (rewrite_memo_clear between statements: later unifications change what holds). */
struct rw_memo {
	const struct rule_index *ix;
	const struct expr *var, *unsym;
	struct rw_memo_slot {
		struct expr *k, *v; /* k NULL: empty */
	} *slot;
	size_t cap, n;
};

/* Why a run stopped. */
enum rewrite_stop {
	REWRITE_FIXPOINT, /* nothing applies any more */
	REWRITE_LIMIT,	  /* the step limit (--max-steps) */
	REWRITE_DEPTH,	  /* results nested deeper than LIMIT_REWRITE_DEPTH */
	REWRITE_HALTED,	  /* a limit of the statement (time, memory, size: limit.h) */
};

struct rewriter {
	struct session *s;
	struct rules *rules;
	const char *section;
	struct expr *var;    /* the variable of differentiation, or NULL */
	struct steps *steps; /* where applications are recorded, or NULL */
	long limit;	     /* most applications in one run */
	long count;
	int depth; /* nesting of norm / one_step now */
	enum rewrite_stop stop;
	struct rw_memo *memo; /* normal forms found so far: the session's, for this section list */
	int *fired;	      /* per rule, counted once the run is long: for the loop report */
	const struct rule_index *ix;
	bool builtin_zero; /* the last built-in step made d(A) of a constant symbol 0 */
};

/* Rewrites e with the rules of one section until nothing applies (or the
 * limit is reached: then an error naming the rules that fired most). */
void rewriter_init(struct rewriter *rw, struct session *s, struct rules *rules, const char *section,
		   struct expr *var, struct steps *steps);
void rewriter_done(struct rewriter *rw);
struct expr *rewrite_to_fixpoint(struct rewriter *rw, struct expr *e);

/* Tries one rule at the root of e only: the result, or NULL when it does not apply. */
struct expr *rewrite_apply(struct rewriter *rw, const struct rule *r, struct expr *e);

/* Forgets the session's memos of normal forms. */
void rewrite_memo_clear(struct session *s);

#endif
