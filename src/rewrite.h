/* rewrite.h - rules as data, and the engine that applies them: matching modulo
 * associativity and commutativity, conditions, building results, running to a
 * fixed point under a step limit. */
#ifndef REWRITE_H
#define REWRITE_H

#include "session.h"
#include "steps.h"

#define RULE_MAX_VARS 16

/* The conditions a rule can state (their names in rule files are these, lower case). */
enum cond_kind {
	COND_SCALAR,
	COND_VECTOR,
	COND_MATRIX,
	COND_SQUARE,
	COND_SYMMETRIC,
	COND_SPD,
	COND_CONST,
	COND_NODIFF,
	COND_HASDIFF,
	COND_NUM,
	COND_INT,
	COND_NOTNUM,
	COND_DIFFVAR,
	COND_NONSCALAR,
	COND_KNOWN,
	COND_COUNT
};
extern const char *const rule_cond_names[COND_COUNT];

/* A condition such as symmetric(A) or const(A, X). */
struct rule_cond {
	enum cond_kind kind;
	const char *name; /* interned */
	int nargs;
	struct expr *args[2]; /* patterns */
	bool negated;	      /* not_xxx(...) */
};


/* A rule: LHS -> RHS [if CONDITIONS] @ CITATION [TAG], from a rule file. */
struct rule {
	const char *section; /* simplify, differential, gradient, ... */
	const char *file;    /* where it was read, for messages */
	int line;
	const char *cite; /* "MC (37)", "algebra" (without the tag) */
	enum rule_show show;
	const char *text; /* the rule as written */
	struct expr *lhs, *rhs;
	struct rule_cond *conds;
	int nconds;
	int index; /* position in the rule set */
	long hits; /* applications so far in this session (coverage tests, :rules) */
	bool needs_diff; /* a hasdiff(...) condition: only a node holding a d can match */
};

/* The rules of a list of sections, indexed by the head operator of their left side. */
struct rule_index {
	char *sections; /* owned */
	int *byop[OP_COUNT];
	int nbyop[OP_COUNT];
	bool differential; /* the list has [differential]: d(X) of symbols is built in */
};

struct rules {
	struct rule *v;
	int n, cap;
	struct rule_index *idx; /* made on first use of each section list */
	int nidx;
};


/* A memo of normal forms, node -> node, for one section list, variable and
 * symmetric-variable setting. Kept in the session while one statement runs
 * (rewrite_memo_clear between statements: later unifications change what holds). */
struct rw_memo {
	const struct rule_index *ix;
	const struct expr *var, *unsym;
	struct expr **k, **v;
	size_t cap, n;
};

/* Why a run stopped. */
enum rewrite_stop { REWRITE_FIXPOINT, REWRITE_LIMIT };

struct rewriter {
	struct session *s;
	struct rules *rules;
	const char *section;
	struct expr *var;    /* the variable of differentiation, or NULL */
	struct steps *steps; /* where applications are recorded, or NULL */
	long limit;	     /* most applications in one run */
	long count;
	enum rewrite_stop stop;
	struct rw_memo *memo; /* normal forms found so far: the session's, for this section list */
	int *fired;	      /* per rule, counted once the run is long: for the loop report */
	const struct rule_index *ix;
	bool builtin_zero; /* the last built-in step made d(A) of a constant symbol 0 */
};

/* Loads every *.rules file of dir into rs (sorted by file name). On a broken
 * file, sets the error (file:line:col: error: ...) in s->mc... and returns false;
 * the message is complete, with the source line and caret, in *report (owned). */
bool rules_load_dir(struct session *s, struct rules *rs, const char *dir, char **report);
bool rules_load_text(struct session *s, struct rules *rs, const char *file, const char *text,
		     size_t len, char **report);
void rules_free(struct rules *rs);
void rules_free_index(struct rules *rs);

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
