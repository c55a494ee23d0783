/* solve.c - linear matrix equations: collect A x, x B and constant terms, then solve. */
#include "solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "print.h"

struct lin_term {
	double coef;
	struct expr *left, *right; /* NULL: nothing on that side */
};

static struct expr *product(struct session *s, struct expr **v, int n)
{
	if (n == 0)
		return NULL;
	if (n == 1)
		return v[0];
	return expr_make(s->mc, OP_MUL, n, v, false);
}

static bool not_linear(struct session *s, struct expr *x, struct expr *t)
{
	char *name = print_str(s->mc, x, PRINT_PLAIN);
	char *term = print_str(s->mc, t, PRINT_PLAIN);
	mc_fail(s->mc, MC_ERR_EVAL,
		"the equation is not linear in %s: the term %s is not of the form A %s B", name,
		term, name);
	free(name);
	free(term);
	return false;
}

/* Splits term t = c · scalars · L x R. */
static bool split(struct session *s, struct expr *t, struct expr *x, struct lin_term *out)
{
	out->coef = 1;
	out->left = out->right = NULL;
	struct expr **f = (struct expr **)t->kids;
	int n = t->nkids;
	struct expr *single[1] = {t};
	if (t->op != OP_MUL) {
		f = single;
		n = 1;
	}
	int at = -1;
	for (int i = 0; i < n; i++) {
		if (f[i] == x) {
			if (at >= 0)
				return not_linear(s, x, t);
			at = i;
		} else if (expr_contains(f[i], x)) {
			return not_linear(s, x, t);
		}
	}
	if (at < 0)
		return not_linear(s, x, t);
	int from = 0;
	if (f[0]->op == OP_NUM) {
		out->coef = f[0]->num;
		from = 1;
	}
	/* scalar factors before x scale the term; they stay on the left as a multiple of I */
	struct expr **left = mc_xmalloc((size_t)n * sizeof *left);
	int nl = 0;
	for (int i = from; i < at; i++)
		left[nl++] = f[i];
	out->left = product(s, left, nl);
	out->right = product(s, f + at + 1, n - at - 1);
	free(left);
	return true;
}

/* A coefficient as a whole number for the common factor, or 1 (no factor) when it
 * is not one or too large for a long: casting 1e30 to long is undefined. */
static long whole(double c)
{
	if (c != floor(c) || fabs(c) >= 1e15)
		return 1;
	return (long)c;
}

static long gcdl(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

struct expr *solve_linear(struct session *s, struct expr *lhs, struct expr *rhs, struct expr *x,
			  bool *vec)
{
	struct mc *mc = s->mc;
	*vec = false;
	struct expr *neg = expr_make2(mc, OP_MUL, expr_num(mc, -1), rhs, false);
	struct expr *e = neg ? expr_make2(mc, OP_ADD, lhs, neg, false) : NULL;
	e = e ? diff_simplify(s, e) : NULL;
	if (!e)
		return NULL;
	int n = e->op == OP_ADD ? e->nkids : 1;
	struct expr **terms = e->op == OP_ADD ? (struct expr **)e->kids : &e;
	struct lin_term *lin = mc_xmalloc((size_t)n * sizeof *lin);
	struct expr **cst = mc_xmalloc((size_t)n * sizeof *cst);
	int nlin = 0, ncst = 0;
	bool any_left = false, any_right = false, ints = true;
	struct expr *res = NULL;
	for (int i = 0; i < n; i++) {
		struct expr *t = terms[i];
		if (t->op == OP_ZERO)
			continue;
		if (!expr_contains(t, x)) {
			cst[ncst++] = t;
			double c =
			    t->op == OP_MUL && t->kids[0]->op == OP_NUM ? t->kids[0]->num : 1;
			ints &= c == floor(c);
			continue;
		}
		if (!split(s, t, x, &lin[nlin]))
			goto out;
		/* a left factor that is only scalars is a multiple of I */
		if (lin[nlin].left && expr_is_scalar(mc, lin[nlin].left) && !expr_is_scalar(mc, x))
			lin[nlin].left =
			    expr_make2(mc, OP_MUL, lin[nlin].left, expr_ident(mc, DIM_ANY), false);
		any_left |= lin[nlin].left != NULL;
		any_right |= lin[nlin].right != NULL;
		ints &= lin[nlin].coef == floor(lin[nlin].coef);
		nlin++;
	}
	if (nlin == 0) {
		char *name = print_str(mc, x, PRINT_PLAIN);
		mc_fail(mc, MC_ERR_EVAL, "the equation does not contain %s", name);
		free(name);
		goto out;
	}
	/* a common whole factor (2 in 2 X X^T Θ - 2 X Y^T) cancels */
	long g = 0;
	if (ints) {
		for (int i = 0; i < nlin; i++)
			g = gcdl(g, whole(lin[i].coef));
		for (int i = 0; i < ncst; i++) {
			struct expr *t = cst[i];
			g = gcdl(g, t->op == OP_MUL && t->kids[0]->op == OP_NUM
					? whole(t->kids[0]->num)
					: 1);
		}
	}
	double div = g > 1 ? (double)g : 1;
	if (nlin && lin[0].coef < 0)
		div = -div;
	/* C: minus the constant terms */
	struct expr **cs = mc_xmalloc((size_t)(ncst + 1) * sizeof *cs);
	for (int i = 0; i < ncst; i++)
		cs[i] = expr_make2(mc, OP_MUL, expr_num(mc, -1 / div), cst[i], false);
	struct expr *C =
	    ncst ? expr_make(mc, OP_ADD, ncst, cs, false) : expr_zero(mc, DIM_ANY, DIM_ANY);
	free(cs);
	struct expr **as = mc_xmalloc((size_t)nlin * sizeof *as);
	struct expr *I = expr_ident(mc, DIM_ANY);
	if (!any_right || !any_left) {
		/* A x = C  or  x B = C */
		for (int i = 0; i < nlin; i++) {
			struct expr *m = any_left ? lin[i].left : lin[i].right;
			as[i] = expr_make2(mc, OP_MUL, expr_num(mc, lin[i].coef / div), m ? m : I,
					   false);
		}
		struct expr *A = expr_make(mc, OP_ADD, nlin, as, false);
		A = A ? diff_simplify(s, A) : NULL;
		struct expr *Ai =
		    A ? expr_make1(mc, OP_INV, A, true) : NULL; /* solvable: A is square */
		if (Ai && C)
			res = any_left ? expr_make2(mc, OP_MUL, Ai, C, false)
				       : expr_make2(mc, OP_MUL, C, Ai, false);
	} else {
		/* Σ A_k x B_k = C  <=>  (Σ B_k^T ⊗ A_k) vec(x) = vec(C)   (MC (520)) */
		for (int i = 0; i < nlin; i++) {
			struct expr *l = lin[i].left ? lin[i].left : I;
			struct expr *r =
			    lin[i].right ? expr_make1(mc, OP_T, lin[i].right, false) : I;
			struct expr *k = r ? expr_make2(mc, OP_KRON, r, l, false) : NULL;
			as[i] =
			    k ? expr_make2(mc, OP_MUL, expr_num(mc, lin[i].coef / div), k, false)
			      : NULL;
		}
		struct expr *A = expr_make(mc, OP_ADD, nlin, as, false);
		struct expr *Ai =
		    A ? expr_make1(mc, OP_INV, A, true) : NULL; /* solvable: A is square */
		struct expr *vc = C ? expr_make1(mc, OP_VEC, C, false) : NULL;
		res = Ai && vc ? expr_make2(mc, OP_MUL, Ai, vc, false) : NULL;
		*vec = true;
	}
	free(as);
	if (res)
		res = diff_simplify(s, res);
	else if (!mc_failed(mc))
		mc_fail(mc, MC_ERR_SHAPE, "the equation's terms do not fit together");
out:
	free(lin);
	free(cst);
	return res;
}
