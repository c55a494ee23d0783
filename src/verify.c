/* verify.c - check(e1 = e2), check(grad(f, X) = G) and gradcheck(f, X): canonical
 * forms first, then random numeric instances and central finite differences. */
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "eval.h"
#include "print.h"
#include "value.h"

#define CHECK_INSTANCES 5 /* instances a verdict of `equal` rests on */
#define GRADCHECK_INSTANCES 3
#define MAX_ATTEMPTS 40	     /* draws, counting those a domain error spoiled */
#define POSITIVE_AFTER 3     /* failed draws before entries are drawn positive */
#define TOL_EXACT 1e-8	     /* two formulas of the same value */
#define TOL_FD 1e-6	     /* a formula against finite differences */
#define FD_MAX_ENTRIES 64    /* entries of X perturbed (a random subset beyond) */
#define SHOW_MAX_ENTRIES 400 /* a value in a report larger than this shows its size */

/* ---- collecting the free leaves and dimensions ---- */

struct ptrset {
	const void **v;
	size_t cap, len;
};

/* Adds p; false when it was there already. */
static bool set_add(struct ptrset *s, const void *p)
{
	if (2 * (s->len + 1) > s->cap) {
		struct ptrset old = *s;
		s->cap = old.cap ? 2 * old.cap : 64;
		s->v = mc_xmalloc(s->cap * sizeof *s->v);
		memset(s->v, 0, s->cap * sizeof *s->v);
		s->len = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.v[i])
				set_add(s, old.v[i]);
		free(old.v);
	}
	size_t i = ((uintptr_t)p * 0x9e3779b97f4a7c15ULL >> 17) & (s->cap - 1);
	for (; s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == p)
			return false;
	s->v[i] = p;
	s->len++;
	return true;
}

/* A random instance: values for every symbol and differential, sizes for the
 * free dimensions. The user's own bindings are set aside while it lives. */
struct instance {
	struct session *s;
	const struct decl **syms;
	int nsyms;
	const struct expr **diffs; /* dX leaves */
	struct value **diff_vals;
	int ndiffs;
	int *dims; /* dimension ids met (roots are taken when drawing) */
	int ndims;
	long *sizes; /* by root id */
	int nsizes;
	struct binding *saved;
	int nsaved, capsaved;
	struct eval_opts opts;
	struct ptrset seen;
};

static void inst_collect(struct instance *in, const struct expr *e)
{
	if (!e)
		return;
	const struct expr **stack = mc_xmalloc(64 * sizeof *stack);
	size_t n = 0, cap = 64;
	stack[n++] = e;
	while (n) {
		const struct expr *x = stack[--n];
		if (!set_add(&in->seen, x))
			continue;
		if (x->op == OP_SYM && set_add(&in->seen, x->decl)) {
			in->syms =
			    mc_xrealloc(in->syms, (size_t)(in->nsyms + 1) * sizeof *in->syms);
			in->syms[in->nsyms++] = x->decl;
		}
		if (x->op == OP_DIFF) {
			in->diffs =
			    mc_xrealloc(in->diffs, (size_t)(in->ndiffs + 1) * sizeof *in->diffs);
			in->diffs[in->ndiffs++] = x;
		}
		int ds[2] = {x->rows, x->cols};
		for (int i = 0; i < 2; i++)
			if (ds[i] >= 0) {
				in->dims = mc_xrealloc(in->dims,
						       (size_t)(in->ndims + 1) * sizeof *in->dims);
				in->dims[in->ndims++] = ds[i];
			}
		if (x->op == OP_DIFF)
			continue; /* dX is a leaf: X itself is not free here */
		for (int i = 0; i < x->nkids; i++) {
			if (n == cap) {
				cap *= 2;
				stack = mc_xrealloc(stack, cap * sizeof *stack);
			}
			stack[n++] = x->kids[i];
		}
	}
	free(stack);
}

static int cmp_decl(const void *a, const void *b)
{
	const struct decl *x = *(const struct decl *const *)a, *y = *(const struct decl *const *)b;
	const char *ax = greek_ascii(x->name), *ay = greek_ascii(y->name);
	return strcmp(ax ? ax : x->name, ay ? ay : y->name);
}

/* Sets the user's bindings aside; call after collecting. */
static void inst_begin(struct instance *in, struct session *s)
{
	in->s = s;
	in->saved = s->binds;
	in->nsaved = s->nbinds;
	in->capsaved = s->capbinds;
	s->binds = NULL;
	s->nbinds = s->capbinds = 0;
	if (in->nsyms > 1)
		qsort(in->syms, (size_t)in->nsyms, sizeof *in->syms, cmp_decl);
	in->diff_vals = mc_xmalloc((size_t)(in->ndiffs + 1) * sizeof *in->diff_vals);
	memset(in->diff_vals, 0, (size_t)(in->ndiffs + 1) * sizeof *in->diff_vals);
}

/* Drops the instance's values and puts the user's bindings back exactly. */
static void inst_end(struct instance *in)
{
	struct session *s = in->s;
	if (s) {
		value_free_all(s);
		free(s->binds);
		s->binds = in->saved;
		s->nbinds = in->nsaved;
		s->capbinds = in->capsaved;
	}
	for (int i = 0; i < in->ndiffs; i++)
		value_free(in->diff_vals ? in->diff_vals[i] : NULL);
	free(in->diff_vals);
	free(in->syms);
	free(in->diffs);
	free(in->dims);
	free(in->sizes);
	free(in->seen.v);
	memset(in, 0, sizeof *in);
}

/* The size of d in the instance being drawn (or fixed by a value). */
static long inst_dim(struct instance *in, int d)
{
	struct mc *mc = in->s->mc;
	int r = dim_find(mc, d);
	if (mc->dims[r].value >= 0)
		return mc->dims[r].value;
	return r < in->nsizes ? in->sizes[r] : -1;
}

static long draw_size(struct instance *in, int d, bool small)
{
	struct mc *mc = in->s->mc;
	int r = dim_find(mc, d);
	long v = inst_dim(in, r);
	if (v >= 0)
		return v;
	/* a product dimension (of vec, kron) is the product of its factors */
	for (int i = 0; i < mc->nprod; i++) {
		int *t = &mc->prod_dims[3 * i];
		if (dim_find(mc, t[2]) == r && dim_find(mc, t[0]) != r && dim_find(mc, t[1]) != r) {
			v = draw_size(in, t[0], small) * draw_size(in, t[1], small);
			in->sizes[r] = v;
			return v;
		}
	}
	v = small ? 2 : 2 + (long)(value_uniform(in->s) * 5);
	if (v > 6)
		v = 6;
	in->sizes[r] = v;
	return v;
}

static double draw_entry(struct session *s, bool positive)
{
	return positive ? 0.5 + 1.5 * value_uniform(s) : value_normal(s);
}

static struct value *draw_matrix(struct session *s, long r, long c, bool positive)
{
	struct value *v = value_new(r, c);
	for (long i = 0; i < r * c; i++)
		v->data[i] = draw_entry(s, positive);
	return v;
}

/* Draws instance number k: the first has every free dimension 2, so a
 * counterexample is small; the rest draw them in 2..6. */
static void inst_draw(struct instance *in, int k, bool positive)
{
	struct session *s = in->s;
	struct mc *mc = s->mc;
	free(in->sizes);
	in->nsizes = mc->ndims;
	in->sizes = mc_xmalloc((size_t)in->nsizes * sizeof *in->sizes);
	for (int i = 0; i < in->nsizes; i++)
		in->sizes[i] = -1;
	for (int i = 0; i < in->ndims; i++)
		draw_size(in, in->dims[i], k == 0);
	for (int i = 0; i < in->nsyms; i++) {
		const struct decl *d = in->syms[i];
		long r = inst_dim(in, d->rows), c = inst_dim(in, d->cols);
		struct value *v;
		if (d->spd) {
			/* B B^T + n I: well away from singular */
			struct value *b = draw_matrix(s, r, r, positive);
			v = value_new(r, r);
			for (long p = 0; p < r; p++)
				for (long q = 0; q < r; q++) {
					double acc = p == q ? (double)r : 0;
					for (long t = 0; t < r; t++)
						acc += b->data[t * r + p] * b->data[t * r + q];
					v->data[q * r + p] = acc;
				}
			value_free(b);
		} else if (d->symmetric) {
			v = draw_matrix(s, r, r, positive);
			for (long p = 0; p < r; p++)
				for (long q = p + 1; q < r; q++)
					v->data[q * r + p] = v->data[p * r + q];
		} else {
			v = draw_matrix(s, r, c, positive);
		}
		value_set(s, d, v);
	}
	for (int i = 0; i < in->ndiffs; i++) {
		value_free(in->diff_vals[i]);
		const struct expr *x = in->diffs[i];
		in->diff_vals[i] =
		    draw_matrix(s, inst_dim(in, x->rows), inst_dim(in, x->cols), positive);
	}
	memset(&in->opts, 0, sizeof in->opts);
	in->opts.dim_sizes = in->sizes;
	in->opts.ndim_sizes = in->nsizes;
	in->opts.leaves = in->diffs;
	in->opts.leaf_values = in->diff_vals;
	in->opts.nleaves = in->ndiffs;
}

/* A value for a report: the numbers, or only its size when it is too big to read. */
static void shown_value(struct session *s, struct sbuf *b, const struct value *v)
{
	if (v->rows * v->cols > SHOW_MAX_ENTRIES)
		sbuf_printf(b, "(%ld×%ld, too large to show)", v->rows, v->cols);
	else
		value_print(s, b, v);
}

/* The instance as statements that bind it: X = [..]; θ = [..] */
static void inst_print(struct instance *in, struct sbuf *b)
{
	struct session *s = in->s;
	for (int i = 0; i < in->nsyms; i++) {
		if (i)
			sbuf_add(b, "; ");
		print_name(s->mc, b, in->syms[i]->name);
		sbuf_add(b, " = ");
		shown_value(s, b, value_of(s, in->syms[i]));
	}
	for (int i = 0; i < in->ndiffs; i++) {
		if (i || in->nsyms)
			sbuf_add(b, "; ");
		char *n = print_str(s->mc, in->diffs[i], PRINT_PLAIN);
		sbuf_printf(b, "%s = ", n);
		free(n);
		shown_value(s, b, in->diff_vals[i]);
	}
}

/* ---- numbers ---- */

static double norm(const struct value *v)
{
	double s = 0;
	for (long i = 0; i < v->rows * v->cols; i++)
		s += v->data[i] * v->data[i];
	return sqrt(s);
}

/* ||a - b|| / max(1, ||a||, ||b||); a 1x1 side is compared entrywise with the
 * other (a 0 of unknown size); different sizes are infinitely apart. */
static double rel_error(const struct value *a, const struct value *b)
{
	bool as = a->rows * a->cols == 1, bs = b->rows * b->cols == 1;
	if ((a->rows != b->rows || a->cols != b->cols) && !as && !bs)
		return INFINITY;
	const struct value *big = as ? b : a;
	double d = 0;
	for (long i = 0; i < big->rows * big->cols; i++) {
		double x = as ? a->data[0] : a->data[i], y = bs ? b->data[0] : b->data[i];
		d += (x - y) * (x - y);
	}
	double m = fmax(1, fmax(norm(a), norm(b)));
	return isnan(d) ? INFINITY : sqrt(d) / m;
}

/* Evaluates e in the instance with a size for an I or 0 at the top. */
static struct value *inst_eval(struct instance *in, const struct expr *e, long hr, long hc,
			       bool general)
{
	in->opts.hint_rows = hr;
	in->opts.hint_cols = hc;
	in->opts.general = general;
	return eval_expr_opts(in->s, e, &in->opts);
}

/* Central differences of scalar f in the entries idx of x's value (which the
 * instance owns); out[i] for idx[i]. Steps h and h/2 combined by Richardson
 * extrapolation: the error is O(h^4), so a function with large third
 * derivatives (tan near a pole, exp of a large entry) still meets 1e-6.
 * False with the error in mc. */
static bool finite_diff(struct instance *in, const struct expr *f, const struct decl *x,
			const long *idx, long n, double *out)
{
	static const double steps[4] = {1, -1, 0.5, -0.5};
	struct value *xv = (struct value *)value_of(in->s, x);
	for (long i = 0; i < n; i++) {
		double orig = xv->data[idx[i]];
		double h = 1e-4 * fmax(1, fabs(orig));
		double fv[4];
		for (int k = 0; k < 4; k++) {
			xv->data[idx[i]] = orig + steps[k] * h;
			/* off symmetry now: evaluate without spd shortcuts */
			struct value *v = inst_eval(in, f, 1, 1, true);
			xv->data[idx[i]] = orig;
			if (!v)
				return false;
			if (v->rows * v->cols != 1) {
				value_free(v);
				return mc_fail(in->s->mc, MC_ERR_SHAPE,
					       "the function is not a scalar");
			}
			fv[k] = v->data[0];
			value_free(v);
		}
		double d1 = (fv[0] - fv[1]) / (2 * h), d2 = (fv[2] - fv[3]) / h;
		out[i] = (4 * d2 - d1) / 3;
	}
	return true;
}

/* The entries of x to perturb: all, or a random subset of a large x. */
static long fd_entries(struct session *s, long total, long max, long **idx)
{
	long n = total < max ? total : max;
	*idx = mc_xmalloc((size_t)total * sizeof **idx);
	for (long i = 0; i < total; i++)
		(*idx)[i] = i;
	for (long i = 0; i < n && n < total; i++) {
		/* a partial Fisher-Yates shuffle picks n distinct entries */
		long j = i + (long)(value_uniform(s) * (double)(total - i));
		if (j >= total)
			j = total - 1;
		long t = (*idx)[i];
		(*idx)[i] = (*idx)[j];
		(*idx)[j] = t;
	}
	return n;
}

/* The claimed gradient's entries idx against the finite differences. */
static double fd_error(const struct value *g, const long *idx, long n, const double *fd)
{
	double d = 0, ng = 0, nf = 0;
	for (long i = 0; i < n; i++) {
		double a = g->data[idx[i]];
		d += (a - fd[i]) * (a - fd[i]);
		ng += a * a;
		nf += fd[i] * fd[i];
	}
	double m = fmax(1, fmax(sqrt(ng), sqrt(nf)));
	return isnan(d) ? INFINITY : sqrt(d) / m;
}

/* ---- resolving the arguments ---- */

static bool has_derivative(const struct expr *e, struct ptrset *seen)
{
	if (!set_add(seen, e))
		return false;
	if (e->op == OP_GRAD || e->op == OP_HESS || e->op == OP_JAC || e->op == OP_D)
		return true;
	for (int i = 0; i < e->nkids; i++)
		if (has_derivative(e->kids[i], seen))
			return true;
	return false;
}

/* e with every grad/hess/jacobian/d worked out. */
static struct expr *derived(struct session *s, struct expr *e, struct loc loc)
{
	struct ptrset seen = {0};
	bool has = e && has_derivative(e, &seen);
	free(seen.v);
	if (!has)
		return e;
	struct expr *r = diff_derive(s, e);
	if (!r)
		mc_set_loc(s->mc, loc);
	return r;
}

static void status_failed(struct session *s)
{
	if (s->status < 1)
		s->status = 1;
}

/* Prints an expression in the session's style (LaTeX with --latex). */
static void print_line(struct session *s, const char *label, const struct expr *e)
{
	char *str = print_str(s->mc, e, s->latex ? PRINT_LATEX : PRINT_PLAIN);
	fprintf(s->out, "%s%s\n", label, str);
	free(str);
}

static void print_value_line(struct session *s, const char *label, const struct value *v)
{
	struct sbuf b = {0};
	shown_value(s, &b, v);
	fprintf(s->out, "%s%s\n", label, b.s);
	sbuf_free(&b);
}

/* What one comparison found at a failing instance. */
struct verdict {
	bool equal;
	struct value *left, *right; /* at the failing instance */
	char *instance;
	double fd_err;	 /* claim against finite differences, or -1 */
	double eng_fd;	 /* the engine's gradient against finite differences, or -1 */
	bool left_is_fd; /* the left value is the finite differences */
};

static void verdict_free(struct verdict *v)
{
	value_free(v->left);
	value_free(v->right);
	free(v->instance);
}

/* A gradient claim: side g of the equation is grad(f, x). */
struct claim {
	const struct expr *f, *x;
	const struct expr *claim; /* the other side: the claimed gradient */
	struct expr *correct;	  /* the engine's gradient, or NULL */
	char *why;		  /* why there is no correct one */
};

/* Evaluates both sides (and finite differences for a claim) at random
 * instances until CHECK_INSTANCES agree or one disagrees. */
static bool compare(struct session *s, struct instance *in, const struct expr *a,
		    const struct expr *b, int gside, struct claim *cl, long hr, long hc,
		    struct verdict *out)
{
	struct mc *mc = s->mc;
	memset(out, 0, sizeof *out);
	out->equal = true;
	out->fd_err = out->eng_fd = -1;
	int good = 0, failures = 0;
	char *last_err = NULL;
	for (int attempt = 0; attempt < MAX_ATTEMPTS && good < CHECK_INSTANCES; attempt++) {
		inst_draw(in, good, failures >= POSITIVE_AFTER);
		struct value *vg = NULL;
		double *fd = NULL;
		long *idx = NULL, nidx = 0;
		bool ok = true;
		long r = hr > 0 ? hr : -1, c = hc > 0 ? hc : -1;
		if (cl) {
			const struct value *xv = value_of(s, cl->x->decl);
			r = xv->rows;
			c = xv->cols;
		}
		/* the claim (or a side of known shape) first, then the other with
		 * its size as the hint for an I or 0 of unknown size */
		const struct expr *first = cl ? cl->claim : a, *second = b;
		struct value *v1 = NULL, *v2 = NULL;
		if (!cl && first->rows < 0 && first->cols < 0) {
			const struct expr *t = first;
			first = second;
			second = t;
		}
		v1 = inst_eval(in, first, r, c, false);
		ok = v1 != NULL;
		if (ok && !cl) {
			r = v1->rows;
			c = v1->cols;
		}
		if (ok && (!cl || cl->correct)) {
			v2 = inst_eval(in, cl ? cl->correct : second, r, c, false);
			ok = v2 != NULL;
		}
		if (ok && cl) {
			const struct value *xv = value_of(s, cl->x->decl);
			/* without the engine's gradient the differences are the left
			 * value: take every entry of one small enough to show */
			nidx = fd_entries(s, xv->rows * xv->cols,
					  cl->correct ? FD_MAX_ENTRIES : SHOW_MAX_ENTRIES, &idx);
			fd = mc_xmalloc((size_t)(nidx + 1) * sizeof *fd);
			ok = finite_diff(in, cl->f, cl->x->decl, idx, nidx, fd);
		}
		if (!ok) {
			/* a domain error (log of a negative entry, a singular draw): draw again */
			free(last_err);
			last_err = mc_xstrdup(mc->err.msg ? mc->err.msg : "error");
			mc_clear_error(mc);
			value_free(v1);
			value_free(v2);
			free(fd);
			free(idx);
			failures++;
			continue;
		}
		bool same = true;
		if (cl) {
			vg = v1;
			if (v2 && rel_error(vg, v2) > TOL_EXACT)
				same = false;
			double fe = fd_error(vg, idx, nidx, fd);
			if (fe > TOL_FD)
				same = false;
			if (fe > out->fd_err)
				out->fd_err = fe;
			if (v2) {
				double ee = fd_error(v2, idx, nidx, fd);
				if (ee > out->eng_fd)
					out->eng_fd = ee;
			}
			if (!same) {
				/* the left value: the engine's gradient, else the differences
				 * (all entries, when they are few enough to have been taken) */
				struct value *left = v2;
				if (!left) {
					left = value_new(vg->rows, vg->cols);
					for (long i = 0; i < nidx; i++)
						left->data[idx[i]] = fd[i];
					out->left_is_fd = true;
				}
				out->left = gside == 0 ? left : vg;
				out->right = gside == 0 ? vg : left;
				v1 = v2 = NULL;
			}
		} else if (rel_error(v1, v2) > TOL_EXACT) {
			same = false;
			bool swapped = first != a;
			out->left = swapped ? v2 : v1;
			out->right = swapped ? v1 : v2;
			v1 = v2 = NULL;
		}
		value_free(v1);
		value_free(v2);
		free(fd);
		free(idx);
		good++;
		if (!same) {
			struct sbuf ib = {0};
			inst_print(in, &ib);
			out->instance = sbuf_take(&ib);
			out->equal = false;
			break;
		}
	}
	if (good == 0) {
		mc_fail(mc, MC_ERR_EVAL, "cannot evaluate the two sides at a random instance: %s",
			last_err ? last_err : "no instance");
		free(last_err);
		return false;
	}
	free(last_err);
	return true;
}

bool verify_check(struct session *s, const struct syn *call)
{
	struct mc *mc = s->mc;
	if (call->n != 1 || call->kids[0]->kind != SYN_EQ)
		return mc_fail_at(mc, MC_ERR_SYNTAX, call->loc,
				  "check takes an equation: check(a = b) or check(grad(f, X) = G)");
	const struct syn *eq = call->kids[0];
	struct expr *e = session_resolve(s, eq);
	if (!e)
		return false;
	struct expr *a = e->kids[0], *b = e->kids[1];
	int gside = a->op == OP_GRAD ? 0 : b->op == OP_GRAD ? 1 : -1;
	struct claim cl = {0};
	if (gside >= 0) {
		struct expr *g = gside == 0 ? a : b;
		cl.x = g->kids[1];
		cl.f = derived(s, g->kids[0], eq->kids[gside]->loc);
		if (!cl.f)
			return false;
		cl.correct = diff_gradient(s, (struct expr *)cl.f, (struct expr *)cl.x);
		if (!cl.correct) {
			/* the engine cannot derive it: finite differences still decide */
			cl.why = mc_xstrdup(mc->err.msg ? mc->err.msg : "no gradient");
			mc_clear_error(mc);
		}
		if (gside == 0)
			a = cl.correct;
		else
			b = cl.correct;
	}
	struct loc la = eq->kids[0]->loc, lb = eq->kids[1]->loc;
	if (gside != 0 && !(a = derived(s, a, la)))
		goto fail;
	if (gside != 1 && !(b = derived(s, b, lb)))
		goto fail;
	if (gside >= 0)
		cl.claim = gside == 0 ? b : a;
	/* canonical forms: equal when the simplifier makes them the same node */
	if (a && b) {
		struct expr *ca = diff_simplify(s, a), *cb = diff_simplify(s, b);
		if (!ca || !cb)
			goto fail;
		if (ca == cb) {
			fprintf(s->out, "equal\n");
			free(cl.why);
			return true;
		}
	}
	struct instance in = {0};
	in.s = s;
	inst_collect(&in, a);
	inst_collect(&in, b);
	if (gside >= 0) {
		inst_collect(&in, cl.f);
		inst_collect(&in, cl.x); /* X gets a value even when f does not use it */
	}
	inst_begin(&in, s);
	/* with no correct gradient compare() evaluates the claim and the
	 * finite differences only */
	struct verdict v;
	bool ok = compare(s, &in, a, b, gside, gside >= 0 ? &cl : NULL, -1, -1, &v);
	if (ok) {
		fprintf(s->out, "%s\n", v.equal ? "equal" : "not equal");
		if (!v.equal) {
			if (v.instance && v.instance[0])
				fprintf(s->out, "instance: %s\n", v.instance);
			print_value_line(s,
					 v.left_is_fd && gside == 0 ? "left (finite differences): "
								    : "left:  ",
					 v.left);
			print_value_line(s,
					 v.left_is_fd && gside == 1 ? "right (finite differences): "
								    : "right: ",
					 v.right);
			if (gside >= 0 && cl.correct)
				print_line(s, "correct gradient: ", cl.correct);
			else if (gside >= 0)
				fprintf(s->out, "correct gradient: not derived (%s)\n", cl.why);
			if (cl.correct && v.eng_fd > TOL_FD)
				fprintf(
				    s->out,
				    "note: the engine's gradient disagrees with finite differences "
				    "(relative error %.2g): please report it\n",
				    v.eng_fd);
			status_failed(s);
		}
		verdict_free(&v);
	}
	inst_end(&in);
	free(cl.why);
	if (!ok)
		mc_set_loc(mc, call->loc);
	return ok;
fail:
	free(cl.why);
	return false;
}

bool verify_gradcheck(struct session *s, const struct syn *call)
{
	struct mc *mc = s->mc;
	if (call->n != 2 || call->kids[0]->kind == SYN_EQ || call->kids[1]->kind == SYN_EQ)
		return mc_fail_at(mc, MC_ERR_SYNTAX, call->loc,
				  "gradcheck takes a function and a variable: gradcheck(f, X)");
	struct expr *f = session_resolve(s, call->kids[0]);
	if (!f || !(f = derived(s, f, call->kids[0]->loc)))
		return false;
	if (call->kids[1]->kind == SYN_IDENT && session_def(s, call->kids[1]->name))
		return mc_fail_at(mc, MC_ERR_NAME, call->kids[1]->loc,
				  "cannot differentiate with respect to %s: it is defined as an "
				  "expression; use a symbol",
				  call->kids[1]->name);
	struct expr *x = session_resolve(s, call->kids[1]);
	if (!x)
		return false;
	if (x->op != OP_SYM)
		return mc_fail_at(mc, MC_ERR_NAME, call->kids[1]->loc,
				  "gradcheck needs a symbol to differentiate with respect to");
	if (!expr_is_scalar(mc, f) && !(f->rows < 0 && f->cols < 0)) {
		char sh[128];
		expr_shape_str(mc, f, sh, sizeof sh);
		return mc_fail_at(mc, MC_ERR_SHAPE, call->kids[0]->loc,
				  "gradcheck needs a scalar function, but this is %s", sh);
	}
	struct expr *g = diff_gradient(s, f, x);
	if (!g) {
		mc_set_loc(mc, call->loc);
		return false;
	}
	struct instance in = {0};
	in.s = s;
	inst_collect(&in, f);
	inst_collect(&in, g);
	inst_collect(&in, x);
	inst_begin(&in, s);
	double worst = 0;
	int good = 0, failures = 0;
	char *last_err = NULL;
	for (int attempt = 0; attempt < MAX_ATTEMPTS && good < GRADCHECK_INSTANCES; attempt++) {
		inst_draw(&in, good + 1, failures >= POSITIVE_AFTER);
		const struct value *xv = value_of(s, x->decl);
		struct value *gv = inst_eval(&in, g, xv->rows, xv->cols, false);
		long *idx = NULL, n = 0;
		double *fd = NULL;
		bool ok = gv != NULL;
		if (ok) {
			n = fd_entries(s, xv->rows * xv->cols, FD_MAX_ENTRIES, &idx);
			fd = mc_xmalloc((size_t)(n + 1) * sizeof *fd);
			ok = finite_diff(&in, f, x->decl, idx, n, fd);
		}
		if (ok) {
			double err = fd_error(gv, idx, n, fd);
			if (gv->rows != xv->rows || gv->cols != xv->cols)
				err = INFINITY;
			if (err > worst || isnan(err))
				worst = err;
			good++;
		} else {
			free(last_err);
			last_err = mc_xstrdup(mc->err.msg ? mc->err.msg : "error");
			mc_clear_error(mc);
			failures++;
		}
		value_free(gv);
		free(idx);
		free(fd);
	}
	inst_end(&in);
	if (good == 0) {
		mc_fail_at(mc, MC_ERR_EVAL, call->loc,
			   "cannot evaluate the function at a random instance: %s",
			   last_err ? last_err : "no instance");
		free(last_err);
		return false;
	}
	free(last_err);
	bool pass = worst <= TOL_FD;
	/* The figure of a passing check is rounding noise that differs between
	 * CPUs (OpenBLAS kernels): print it only when --precision asks. */
	if (pass && !s->mc->exact_errors)
		fprintf(s->out, "max relative error below 1e-6: ok\n");
	else
		fprintf(s->out, "max relative error %.*g: %s\n", s->mc->exact_errors ? s->mc->precision : 2,
			worst, pass ? "ok" : "FAILED");
	if (!pass)
		status_failed(s);
	return true;
}
