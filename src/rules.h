/* rules.h - rules as data (pattern, replacement, conditions, citation), read from rule files. */
#ifndef RULES_H
#define RULES_H

#include "session.h"

/* How a rule's application shows in a derivation. Written as a tag after the
 * citation in a rule file ("@ MC (33) [tidy]"); without one, [differential]
 * and [gradient] rules are steps and the other sections' rules fold. */
enum rule_show {
	SHOW_STEP, /* a step a textbook prints: a line of its own */
	SHOW_FOLD, /* bookkeeping: folded into the next step shown, which cites it too */
	SHOW_TIDY, /* clears away what the step just before it made (a vanishing d(A)):
		      folded into that step */
};

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
	COND_POS, /* a number > 0 */
	COND_NEG, /* a number < 0 */
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
	uint64_t lhs_ops; /* operators a node must hold to match lhs (set by the rewriter) */
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

/* Loads every *.rules file of dir into rs (sorted by file name). On a broken
 * file, sets the error (file:line:col: error: ...) in s->mc... and returns false;
 * the message is complete, with the source line and caret, in *report (owned). */
bool rules_load_dir(struct session *s, struct rules *rs, const char *dir, char **report);
bool rules_load_text(struct session *s, struct rules *rs, const char *file, const char *text,
		     size_t len, char **report);
void rules_free(struct rules *rs);
/* Loads the session's rules once, from s->rules_dir (directories separated
 * by ':') or the default: the source tree's for an uninstalled build, else the
 * installed ones. False with every broken rule's report printed to s->err
 * (the first time; later calls fail with mc's error set). */
bool rules_load(struct session *s);
/* Frees the session's rules (they are loaded again when needed). */
void rules_unload(struct session *s);
void rules_free_index(struct rules *rs);

#endif
