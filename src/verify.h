/* verify.h - check(e1 = e2), check(grad(f, X) = G) and gradcheck(f, X): verdicts on numbers.
 * (Not check.h: that name is the Check unit-test library's header.) */
#ifndef VERIFY_H
#define VERIFY_H

#include "session.h"

/* What kind of wrong a diagnosis found (grading gives partial credit by kind). */
enum verify_diag {
	DIAG_NONE,	 /* no diagnosis fits: the counterexample says it */
	DIAG_CONDITION,	 /* needs X square, or two sizes equal */
	DIAG_UNFIT,	 /* cannot be formed with the problem's sizes */
	DIAG_SHAPE,	 /* the wrong shape */
	DIAG_MULTIPLE,	 /* k times the right answer (k in factor) */
	DIAG_TRANSPOSE,	 /* k times its transpose (also as a wrong shape) */
	DIAG_SYMMETRIC,	 /* right only if a matrix were symmetric (or spd) */
	DIAG_FOREIGN,	 /* uses a symbol the problem does not have */
	DIAG_TERM,	 /* one term missing, extra, wrongly weighted or wrong */
};

/* The verdict of one check as data: printed by verify_check, read by the
 * JSON output and by grading. Strings are owned (verify_report_clear frees). */
struct verify_report {
	bool done;  /* a verdict was reached (false: an error stopped the check) */
	bool equal;
	int link, nlinks; /* the first broken link (1-based, 0 when equal), links in all */
	char *link_text;  /* that link as written, "a = b" (chains only) */
	char *diagnosis;  /* one line, or NULL: then the counterexample says it */
	enum verify_diag kind;
	double factor; /* DIAG_MULTIPLE, DIAG_TRANSPOSE: the k */
	char *instance, *left, *right; /* the counterexample, or NULL */
	const char *left_label, *right_label;
	char *correct, *correct_latex; /* the engine's gradient; NULL when hidden or none */
	char *correct_why;	       /* why there is none */
	char *note;		       /* the engine's gradient against finite differences */
};

void verify_report_clear(struct verify_report *r);
/* Prints r as check does (plain, or LaTeX for the correct gradient with --latex). */
void verify_report_print(struct session *s, const struct verify_report *r, FILE *out);

/* Runs check(EQ), EQ an equation or a chain a = b = c: prints `equal` or
 * `not equal` with a diagnosis (or the instance and both values) and, for a
 * claimed gradient, the correct one unless s->hide_answer. A claim holds only
 * if it holds for every size the problem (its left side and the declarations)
 * allows: one that needs more, or has another shape, is `not equal`. Sets
 * s->status to 1 when not equal and leaves the verdict in s->check. False only
 * on an error (then in s->mc): input that cannot be read or run. */
bool verify_check(struct session *s, const struct syn *call);

/* The verdict on one claim against one problem (grad(f, X), d(f) or any
 * expression), both parsed, as data in r (printing nothing). False on an
 * error (in s->mc): input that cannot be read or run. */
bool verify_claim(struct session *s, const struct syn *problem, const struct syn *claim,
		  struct verify_report *r);

/* Runs gradcheck(f, X): the engine's gradient against central finite differences
 * at random instances; prints the largest relative error and ok/FAILED. */
bool verify_gradcheck(struct session *s, const struct syn *call);

#endif
