/* eval.h - evaluating expressions on numbers with OpenBLAS and LAPACKE. */
#ifndef EVAL_H
#define EVAL_H

#include "value.h"

/* What one evaluation did: for tests (chain order, solve instead of inverse,
 * shared nodes once) and benchmarks. */
struct eval_stats {
	long gemm, gemv, dot; /* BLAS products */
	long syrk;	      /* symmetric products Aᵀ A, Aᵀ diag(w) A (dsyrk) */
	long factorizations;  /* LU (dgetrf) or Cholesky (dpotrf) */
	long cholesky;	      /* of which Cholesky, for spd matrices */
	long solves;	      /* solves with a factored matrix (dgetrs, dpotrs) */
	long inverses;	      /* explicit inverses (dgetri, dpotri) */
	long nodes;	      /* nodes computed; a shared node counts once */
	double flops;	      /* floating-point operations of products and solves */
	char order[256];      /* the last product chain, parenthesised: "X (X^T Θ)" */
};

/* Options of one evaluation; all-zero is the plain eval(e). */
struct eval_opts {
	/* sizes of dimensions by root id, -1 unknown (check's random instances
	 * give free dimensions a size without fixing them for good) */
	const long *dim_sizes;
	int ndim_sizes;
	/* leaves that are not symbols but have values here (dX in check) */
	const struct expr *const *leaves;
	struct value *const *leaf_values;
	int nleaves;
	long hint_rows, hint_cols; /* the size an I or 0 at the top takes; 0: none */
	bool general;		   /* ignore spd declarations, LU everywhere: finite
				    * differences perturb a symmetric value off symmetry */
	bool left_to_right;	   /* multiply chains left to right (benchmarks) */
	struct eval_stats *stats;  /* filled in when not NULL */
};

/* Evaluates e with the values bound in the session (each shared node once,
 * matrix chains in their cheapest order, inverses that only multiply as solves).
 * Returns a new value (caller frees), or NULL with the error in s->mc:
 * unbound symbol, dimension mismatch, singular matrix, log of a non-positive
 * value, ... */
struct value *eval_expr(struct session *s, const struct expr *e);
/* The same with options (o may be NULL). */
struct value *eval_expr_opts(struct session *s, const struct expr *e, const struct eval_opts *o);

/* Whether e can be evaluated: every symbol in e has a value, no differential
 * or derivative is left, and e mentions a symbol or a numeric matrix (a
 * formula of I, 0 and numbers alone prints as a formula). */
bool eval_all_bound(struct session *s, const struct expr *e);
/* The same for e, the worked-out form of the statement call: also true when
 * e is a formula of I, 0, ones and numbers alone (hess(0.5 ||w||^2, w) = I)
 * and every symbol of call has a value, whose sizes then fix e's. */
bool eval_all_bound_by(struct session *s, const struct expr *call, const struct expr *e);

#endif
