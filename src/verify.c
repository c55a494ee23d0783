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
	/* a diagnosis asks "right if A were symmetric (spd)?": A drawn as such */
	const struct decl *force_sym;
	bool force_spd;
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
		bool forced = d == in->force_sym;
		if (d->spd || (forced && in->force_spd)) {
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
		} else if (d->symmetric || forced) {
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
		long r = inst_dim(in, x->rows), c = inst_dim(in, x->cols);
		/* d f of f(θ): the other symbols are constants */
		bool constant = s->check_wrt && x->kids[0]->op == OP_SYM &&
				x->kids[0]->decl != s->check_wrt;
		in->diff_vals[i] = constant ? value_new(r, c) : draw_matrix(s, r, c, positive);
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

/* ---- what a claim may not do: constrain the problem's sizes ---- */

/* The dimensions before a claim was read: the problem's (its left side and
 * the declarations). */
struct dim_snap {
	struct dim *d;
	int n, nprod;
};

static void snap_take(struct mc *mc, struct dim_snap *sn)
{
	sn->n = mc->ndims;
	sn->nprod = mc->nprod;
	sn->d = mc_xmalloc((size_t)(sn->n + 1) * sizeof *sn->d);
	memcpy(sn->d, mc->dims, (size_t)sn->n * sizeof *sn->d);
}

/* Puts the problem's dimensions back: what a claim unified among them is
 * undone; dimensions the claim made stay (its own symbols keep their sizes). */
static void snap_restore(struct mc *mc, const struct dim_snap *sn)
{
	memcpy(mc->dims, sn->d, (size_t)sn->n * sizeof *sn->d);
	mc->nprod = sn->nprod;
}

static int snap_root(const struct dim_snap *sn, int d)
{
	while (sn->d[d].parent != d)
		d = sn->d[d].parent;
	return d;
}

/* What reading the claim added to the problem's sizes: two of its sizes made
 * one (*a, *b: roots in the snapshot), or one given a value (*a, *value; *b
 * is -1). False when nothing. */
static bool snap_added(struct mc *mc, const struct dim_snap *sn, int *a, int *b, long *value)
{
	int *first = mc_xmalloc((size_t)(mc->ndims + 1) * sizeof *first);
	for (int i = 0; i < mc->ndims; i++)
		first[i] = -1;
	bool found = false;
	for (int i = 0; i < sn->n && !found; i++) {
		int rb = snap_root(sn, i), ra = dim_find(mc, i);
		if (sn->d[rb].value < 0 && mc->dims[ra].value >= 0) {
			*a = rb;
			*b = -1;
			*value = mc->dims[ra].value;
			found = true;
		} else if (first[ra] < 0) {
			first[ra] = rb;
		} else if (first[ra] != rb) {
			*a = first[ra];
			*b = rb;
			found = true;
		}
	}
	free(first);
	return found;
}

static void dim_name_own(struct mc *mc, int d, char *buf, size_t n)
{
	if (mc->dims[d].name)
		snprintf(buf, n, "%s", mc->dims[d].name);
	else
		dim_print(mc, d, buf, n);
}

/* The condition a claim needs, said in the problem's terms (the problem's
 * dimensions in place): "your answer needs X to be square; in the problem X
 * is n_X×m_X". */
static char *condition_text(struct session *s, const struct decl *const *syms, int nsyms, int a,
			    int b, long value)
{
	struct mc *mc = s->mc;
	struct sbuf t = {0};
	char da[64], db[64];
	dim_print(mc, a, da, sizeof da);
	if (b < 0) {
		sbuf_printf(&t, "your answer needs the size %s to be %ld; in the problem it is any size",
			    da, value);
		return sbuf_take(&t);
	}
	dim_print(mc, b, db, sizeof db);
	for (int i = 0; i < nsyms; i++) {
		const struct decl *d = syms[i];
		int r = dim_find(mc, d->rows), c = dim_find(mc, d->cols);
		if ((r == a && c == b) || (r == b && c == a)) {
			struct sbuf n = {0};
			char dr[64], dc[64];
			print_name(mc, &n, d->name);
			/* the sizes by the names the declaration gave them (n_X), which
			 * the problem may have unified with others (n_y) */
			dim_name_own(mc, d->rows, dr, sizeof dr);
			dim_name_own(mc, d->cols, dc, sizeof dc);
			sbuf_printf(&t, "your answer needs %s to be square; in the problem %s is %s×%s",
				    n.s, n.s, dr, dc);
			sbuf_free(&n);
			return sbuf_take(&t);
		}
	}
	sbuf_printf(&t,
		    "your answer needs the sizes %s and %s to be equal; in the problem they are "
		    "independent",
		    da, db);
	return sbuf_take(&t);
}

/* ---- the verdict as data ---- */

void verify_report_clear(struct verify_report *r)
{
	free(r->link_text);
	free(r->diagnosis);
	free(r->instance);
	free(r->left);
	free(r->right);
	free(r->correct);
	free(r->correct_latex);
	free(r->correct_why);
	free(r->note);
	memset(r, 0, sizeof *r);
}

void verify_report_print(struct session *s, const struct verify_report *r, FILE *out)
{
	if (r->equal) {
		fputs("equal\n", out);
		return;
	}
	if (r->nlinks > 1)
		fprintf(out, "not equal: link %d of %d breaks: %s\n", r->link, r->nlinks,
			r->link_text);
	else
		fputs("not equal\n", out);
	if (r->diagnosis)
		fprintf(out, "diagnosis: %s\n", r->diagnosis);
	if (r->instance && r->instance[0])
		fprintf(out, "instance: %s\n", r->instance);
	if (r->left)
		fprintf(out, "%s%s\n", r->left_label, r->left);
	if (r->right)
		fprintf(out, "%s%s\n", r->right_label, r->right);
	if (r->correct)
		fprintf(out, "correct gradient: %s\n", s->latex ? r->correct_latex : r->correct);
	else if (r->correct_why)
		fprintf(out, "correct gradient: not derived (%s)\n", r->correct_why);
	if (r->note)
		fprintf(out, "note: %s\n", r->note);
}

/* ---- diagnosis of a wrong claim ---- */

/* The symbols of e (sorted by name). */
static const struct decl **syms_of(const struct expr *e, const struct expr *e2, int *n)
{
	struct instance in = {0};
	inst_collect(&in, e);
	inst_collect(&in, e2);
	free(in.diffs);
	free(in.dims);
	free(in.seen.v);
	if (in.nsyms > 1)
		qsort(in.syms, (size_t)in.nsyms, sizeof *in.syms, cmp_decl);
	*n = in.nsyms;
	return in.syms;
}

/* Whether x and y agree at random instances (with sym drawn symmetric, or spd,
 * when given). An evaluation error counts as no. */
static bool same_numbers(struct session *s, const struct expr *x, const struct expr *y,
			 const struct decl *sym, bool spd)
{
	struct instance in = {0};
	in.s = s;
	inst_collect(&in, x);
	inst_collect(&in, y);
	in.force_sym = sym;
	in.force_spd = spd;
	inst_begin(&in, s);
	struct verdict v;
	bool ok = compare(s, &in, x, y, -1, NULL, -1, -1, &v);
	bool eq = ok && v.equal;
	verdict_free(&v);
	if (!ok)
		mc_clear_error(s->mc);
	inst_end(&in);
	return eq;
}

/* The k with y = k x at random instances, when there is one. */
static bool multiple_of(struct session *s, struct expr *x, const struct expr *y, double *k)
{
	struct instance in = {0};
	in.s = s;
	inst_collect(&in, x);
	inst_collect(&in, y);
	inst_begin(&in, s);
	double kk = NAN;
	for (int attempt = 0; attempt < 8 && isnan(kk); attempt++) {
		inst_draw(&in, 1, attempt >= POSITIVE_AFTER);
		struct value *vx = inst_eval(&in, x, -1, -1, false);
		struct value *vy = vx ? inst_eval(&in, y, vx->rows, vx->cols, false) : NULL;
		if (vx && vy) {
			if (vx->rows != vy->rows || vx->cols != vy->cols) {
				value_free(vx);
				value_free(vy);
				break;
			}
			double xy = 0, xx = 0;
			for (long i = 0; i < vx->rows * vx->cols; i++) {
				xy += vx->data[i] * vy->data[i];
				xx += vx->data[i] * vx->data[i];
			}
			if (!(xx > 1e-12)) {
				value_free(vx);
				value_free(vy);
				break;
			}
			kk = xy / xx;
		} else {
			mc_clear_error(s->mc);
		}
		value_free(vx);
		value_free(vy);
	}
	inst_end(&in);
	if (!isfinite(kk) || fabs(kk) < 1e-9)
		return false;
	/* a ratio that is a simple fraction is taken exactly */
	double r = round(kk * 720) / 720;
	if (fabs(r - kk) < 1e-7 * fmax(1, fabs(kk)))
		kk = r;
	struct expr *kx = expr_make2(s->mc, OP_MUL, expr_num(s->mc, kk), x, false);
	if (!kx) {
		mc_clear_error(s->mc);
		return false;
	}
	if (!same_numbers(s, kx, y, NULL, false))
		return false;
	*k = kk;
	return true;
}

/* "twice the right one", "the negative of its transpose" */
static void multiple_text(struct sbuf *t, double k, const char *what)
{
	char num[32];
	snprintf(num, sizeof num, "%g", k);
	if (k == 1)
		sbuf_printf(t, "%s", what);
	else if (k == 2)
		sbuf_printf(t, "twice %s", what);
	else if (k == 0.5)
		sbuf_printf(t, "half of %s", what);
	else if (k == -1)
		sbuf_printf(t, "the negative of %s", what);
	else
		sbuf_printf(t, "%s times %s", num, what);
}

/* A term of a canonical sum: coefficient times monomial. */
struct term {
	double c;
	struct expr *m;
};

/* The transpose of a product as the product of the transposes in reverse
 * order (a scalar's transpose would simplify back to the scalar). */
static struct expr *reversed(struct mc *mc, struct expr *m)
{
	if (m->op != OP_MUL)
		return expr_make1(mc, OP_T, m, false);
	struct expr **k = mc_xmalloc((size_t)m->nkids * sizeof *k);
	struct expr *r = NULL;
	for (int i = 0; i < m->nkids; i++)
		if (!(k[m->nkids - 1 - i] = expr_make1(mc, OP_T, m->kids[i], false)))
			goto out;
	r = expr_make(mc, OP_MUL, m->nkids, k, false);
out:
	free(k);
	return r;
}

static struct term *terms_of(struct session *s, struct expr *e, int *n)
{
	struct mc *mc = s->mc;
	*n = 0;
	e = diff_simplify(s, e);
	if (!e) {
		mc_clear_error(mc);
		return NULL;
	}
	int k = e->op == OP_ADD ? e->nkids : 1;
	struct term *t = mc_xmalloc((size_t)k * sizeof *t);
	for (int i = 0; i < k; i++) {
		struct expr *x = e->op == OP_ADD ? e->kids[i] : e;
		t[i].c = 1;
		t[i].m = x;
		t[i].c = 1;
		t[i].m = x;
		if (x->op == OP_NUM) {
			t[i].c = x->num;
			t[i].m = expr_num(mc, 1);
		} else if (x->op == OP_MUL && x->kids[0]->op == OP_NUM) {
			t[i].c = x->kids[0]->num;
			t[i].m = x->nkids == 2 ? x->kids[1]
					       : expr_make(mc, OP_MUL, x->nkids - 1, x->kids + 1, false);
			if (!t[i].m) {
				mc_clear_error(mc);
				free(t);
				return NULL;
			}
		}
		/* a scalar monomial and its transpose are one (θ^T X^T y, y^T X θ) */
		struct expr *m = t[i].m;
		if (expr_is_scalar(mc, m) && m->op != OP_NUM) {
			struct expr *mt = reversed(mc, m);
			mt = mt ? diff_simplify(s, mt) : NULL;
			if (!mt)
				mc_clear_error(mc);
			else if (expr_cmp(mt, m) < 0)
				t[i].m = mt;
		}
	}
	*n = k;
	return t;
}

static struct expr *term_expr(struct mc *mc, double c, struct expr *m)
{
	return c == 1 ? m : expr_make2(mc, OP_MUL, expr_num(mc, c), m, false);
}

static char *term_str(struct session *s, double c, struct expr *m)
{
	struct expr *e = term_expr(s->mc, c, m);
	if (!e) {
		mc_clear_error(s->mc);
		return mc_xstrdup("?");
	}
	return print_str(s->mc, e, PRINT_PLAIN);
}

/* claim + c1 m1 + c2 m2 (c2 may be 0) agrees with the right answer. */
static bool fixed_by(struct session *s, struct expr *right, struct expr *claim, double c1,
		     struct expr *m1, double c2, struct expr *m2)
{
	struct mc *mc = s->mc;
	struct expr *k[3] = {claim, term_expr(mc, c1, m1), m2 ? term_expr(mc, c2, m2) : NULL};
	struct expr *sum = k[1] ? expr_make(mc, OP_ADD, k[2] ? 3 : 2, k, false) : NULL;
	if (!sum || (m2 && !k[2])) {
		mc_clear_error(mc);
		return false;
	}
	return same_numbers(s, sum, right, NULL, false);
}

/* A missing or extra term, a wrong coefficient or one wrong term: from the
 * canonical terms of both, each confirmed on numbers. */
static char *term_diagnosis(struct session *s, struct expr *right, struct expr *claim)
{
	int nr, nc;
	struct term *tr = terms_of(s, right, &nr);
	struct term *tc = tr ? terms_of(s, claim, &nc) : NULL;
	char *res = NULL;
	if (!tc)
		goto out;
	int only_r = -1, only_c = -1, coef = -1, n_only_r = 0, n_only_c = 0, n_coef = 0;
	double got = 0;
	int *match = mc_xmalloc((size_t)(nr + 1) * sizeof *match);
	for (int i = 0; i < nr; i++) {
		match[i] = -1;
		for (int j = 0; j < nc; j++)
			if (tc[j].m == tr[i].m)
				match[i] = j;
		if (match[i] < 0) {
			only_r = i;
			n_only_r++;
		} else if (fabs(tc[match[i]].c - tr[i].c) > 1e-12 * fmax(1, fabs(tr[i].c))) {
			coef = i;
			got = tc[match[i]].c;
			n_coef++;
		}
	}
	for (int j = 0; j < nc; j++) {
		bool found = false;
		for (int i = 0; i < nr; i++)
			found |= match[i] == j;
		if (!found) {
			only_c = j;
			n_only_c++;
		}
	}
	free(match);
	struct sbuf t = {0};
	bool hide = s->hide_answer;
	if (n_only_r == 1 && n_only_c == 0 && n_coef == 0 &&
	    fixed_by(s, right, claim, tr[only_r].c, tr[only_r].m, 0, NULL)) {
		if (hide) {
			sbuf_add(&t, "a term of the right answer is missing");
		} else {
			char *x = term_str(s, tr[only_r].c, tr[only_r].m);
			sbuf_printf(&t, "a term is missing: %s", x);
			free(x);
		}
	} else if (n_only_r == 0 && n_only_c == 1 && n_coef == 0 &&
		   fixed_by(s, right, claim, -tc[only_c].c, tc[only_c].m, 0, NULL)) {
		char *x = term_str(s, tc[only_c].c, tc[only_c].m);
		sbuf_printf(&t, "your answer has an extra term: %s", x);
		free(x);
	} else if (n_only_r == 0 && n_only_c == 0 && n_coef == 1) {
		double want = tr[coef].c;
		if (fixed_by(s, right, claim, want - got, tr[coef].m, 0, NULL)) {
			char *x = print_str(s->mc, tr[coef].m, PRINT_PLAIN);
			if (want == -got)
				sbuf_printf(&t, "the term %s has the wrong sign", x);
			else if (hide)
				sbuf_printf(&t, "the term %s has a wrong coefficient (%g)", x, got);
			else
				sbuf_printf(&t,
					    "the term %s has the coefficient %g; it should be %g",
					    x, got, want);
			free(x);
		}
	} else if (n_only_r == 1 && n_only_c == 1 && n_coef == 0 && nr > 1 && nc > 1 &&
		   fixed_by(s, right, claim, -tc[only_c].c, tc[only_c].m, tr[only_r].c,
			    tr[only_r].m)) {
		char *x = term_str(s, tc[only_c].c, tc[only_c].m);
		if (hide) {
			sbuf_printf(&t, "the term %s of your answer is wrong", x);
		} else {
			char *y = term_str(s, tr[only_r].c, tr[only_r].m);
			sbuf_printf(&t, "the term %s of your answer should be %s", x, y);
			free(y);
		}
		free(x);
	}
	res = t.s ? sbuf_take(&t) : NULL;
out:
	free(tr);
	free(tc);
	return res;
}

/* Why a claim that is not equal is wrong, in one line, or NULL: a multiple of
 * the right answer, its transpose, right only if a matrix of the problem were
 * symmetric (spd), a symbol the problem does not have, or a term. Every
 * diagnosis is confirmed on numbers before it is said. */
static char *diagnose(struct session *s, struct expr *right, struct expr *claim,
		      const struct decl *const *psyms, int npsyms, struct verify_report *r)
{
	struct mc *mc = s->mc;
	struct sbuf t = {0};
	double k;
	int ncs;
	const struct decl **cs = syms_of(claim, NULL, &ncs);
	for (int i = 0; i < ncs && !t.s; i++) {
		bool known = false;
		for (int j = 0; j < npsyms; j++)
			known |= psyms[j] == cs[i];
		if (!known) {
			struct sbuf n = {0};
			print_name(mc, &n, cs[i]->name);
			sbuf_printf(&t, "your answer uses %s, which is not in the problem", n.s);
			r->kind = DIAG_FOREIGN;
			sbuf_free(&n);
		}
	}
	free(cs);
	if (t.s)
		return sbuf_take(&t);
	if (multiple_of(s, right, claim, &k)) {
		r->kind = DIAG_MULTIPLE;
		r->factor = k;
		sbuf_add(&t, "your answer is ");
		multiple_text(&t, k, "the right one");
		return sbuf_take(&t);
	}
	struct expr *rt = expr_make1(mc, OP_T, right, false);
	if (!rt)
		mc_clear_error(mc);
	else if (multiple_of(s, rt, claim, &k)) {
		r->kind = DIAG_TRANSPOSE;
		r->factor = k;
		sbuf_add(&t, "your answer is ");
		multiple_text(&t, k, k == 1 ? "the transpose of the right one" : "its transpose");
		return sbuf_take(&t);
	}
	for (int i = 0; i < npsyms; i++) {
		const struct decl *d = psyms[i];
		if (d->kind != KIND_MATRIX || d->symmetric || !dim_same(mc, d->rows, d->cols))
			continue;
		bool sym = same_numbers(s, right, claim, d, false);
		if (sym || (!d->spd && same_numbers(s, right, claim, d, true))) {
			struct sbuf n = {0};
			print_name(mc, &n, d->name);
			r->kind = DIAG_SYMMETRIC;
			sbuf_printf(&t, "your answer is right only if %s is %s", n.s,
				    sym ? "symmetric" : "symmetric positive definite");
			sbuf_free(&n);
			return sbuf_take(&t);
		}
	}
	char *term = term_diagnosis(s, right, claim);
	if (term)
		r->kind = DIAG_TERM;
	return term;
}

/* ---- check(a = b), check(grad(f, X) = G), check(a = b = c ...) ---- */

static char *source_text(struct session *s, const struct syn *n)
{
	if (s->src && n->loc.first >= 0 && n->loc.last > n->loc.first &&
	    (size_t)n->loc.last <= s->srclen) {
		struct sbuf b = {0};
		sbuf_addn(&b, s->src + n->loc.first, (size_t)(n->loc.last - n->loc.first));
		return sbuf_take(&b);
	}
	return mc_xstrdup("?");
}

static char *value_str(struct session *s, const struct value *v)
{
	struct sbuf b = {0};
	shown_value(s, &b, v);
	return sbuf_take(&b);
}

/* The right answer of a link: the engine's gradient, or the left term worked out. */
static struct expr *right_answer(struct session *s, struct expr *a, struct loc la,
				 struct claim *cl)
{
	if (a->op != OP_GRAD)
		return derived(s, a, la);
	cl->x = a->kids[1];
	cl->f = derived(s, a->kids[0], la);
	if (!cl->f)
		return NULL;
	cl->correct = diff_gradient(s, (struct expr *)cl->f, (struct expr *)cl->x);
	if (!cl->correct) {
		/* the engine cannot derive it: finite differences still decide */
		cl->why = mc_xstrdup(s->mc->err.msg ? s->mc->err.msg : "no gradient");
		mc_clear_error(s->mc);
	}
	return cl->correct;
}

/* The numbers of one link a = b (a gradient on side gside, or -1); fills r
 * when they differ. False on an error. */
static bool link_numbers(struct session *s, struct expr *a, struct expr *b, int gside,
			 struct loc la, struct loc lb, const struct decl *const *psyms, int npsyms,
			 struct verify_report *r)
{
	struct mc *mc = s->mc;
	struct claim cl = {0};
	bool ok = false;
	if (gside >= 0) {
		struct expr *g = gside == 0 ? a : b;
		struct expr *c = right_answer(s, g, gside == 0 ? la : lb, &cl);
		if (!cl.f)
			return false;
		if (gside == 0)
			a = c;
		else
			b = c;
	}
	if (gside != 0 && !(a = derived(s, a, la)))
		goto out;
	if (gside != 1 && !(b = derived(s, b, lb)))
		goto out;
	if (gside >= 0)
		cl.claim = gside == 0 ? b : a;
	r->equal = true;
	/* canonical forms: equal when the simplifier makes them the same node */
	if (a && b) {
		struct expr *ca = diff_simplify(s, a), *cb = diff_simplify(s, b);
		if (!ca || !cb)
			goto out;
		if (ca == cb) {
			ok = true;
			goto out;
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
	struct verdict v;
	/* with no correct gradient compare() evaluates the claim and the finite
	 * differences only */
	ok = compare(s, &in, a, b, gside, gside >= 0 ? &cl : NULL, -1, -1, &v);
	if (ok && !v.equal) {
		r->equal = false;
		r->instance = v.instance;
		v.instance = NULL;
		bool hide_left = s->hide_answer && gside == 0,
		     hide_right = s->hide_answer && gside == 1;
		r->left_label = v.left_is_fd && gside == 0 ? "left (finite differences): " : "left:  ";
		r->right_label =
		    v.left_is_fd && gside == 1 ? "right (finite differences): " : "right: ";
		r->left = hide_left ? NULL : value_str(s, v.left);
		r->right = hide_right ? NULL : value_str(s, v.right);
		if (cl.correct && v.eng_fd > TOL_FD) {
			struct sbuf n = {0};
			sbuf_printf(&n,
				    "the engine's gradient disagrees with finite differences "
				    "(relative error %.2g): please report it",
				    v.eng_fd);
			r->note = sbuf_take(&n);
		}
	}
	if (ok)
		verdict_free(&v);
	inst_end(&in);
	if (ok && !r->equal) {
		if (gside >= 0 && !s->hide_answer && cl.correct) {
			r->correct = print_str(mc, cl.correct, PRINT_PLAIN);
			r->correct_latex = print_str(mc, cl.correct, PRINT_LATEX);
		} else if (gside >= 0 && !cl.correct) {
			r->correct_why = mc_xstrdup(cl.why);
		}
		/* a diagnosis replaces the counterexample */
		struct expr *right = gside == 1 ? b : a, *claim = gside == 1 ? a : b;
		if (right && claim)
			r->diagnosis = diagnose(s, right, claim, psyms, npsyms, r);
		if (r->diagnosis) {
			free(r->instance);
			free(r->left);
			free(r->right);
			r->instance = r->left = r->right = NULL;
		}
	}
out:
	free(cl.why);
	return ok;
}

static bool is_grad_syn(const struct syn *n)
{
	return n->kind == SYN_NABLA || (n->kind == SYN_CALL && strcmp(n->name, "grad") == 0);
}

/* The claim of a link does not have the problem's shape: says so, and
 * whether it is (a multiple of) the transpose of the right answer. */
static char *wrong_shape(struct session *s, struct expr *right_term, struct loc lr,
			 struct expr *claim, struct loc lc, struct verify_report *r)
{
	struct mc *mc = s->mc;
	char sr[128], sc[128];
	expr_shape_str(mc, right_term, sr, sizeof sr);
	expr_shape_str(mc, claim, sc, sizeof sc);
	struct sbuf t = {0};
	sbuf_printf(&t, "your answer is %s, but the right one is %s", sc, sr);
	struct claim cl = {0};
	struct expr *right = right_answer(s, right_term, lr, &cl);
	struct expr *c = right ? derived(s, claim, lc) : NULL;
	struct expr *rt = c ? expr_make1(mc, OP_T, right, false) : NULL;
	double k;
	r->kind = DIAG_SHAPE;
	if (rt && multiple_of(s, rt, c, &k)) {
		r->kind = DIAG_TRANSPOSE;
		r->factor = k;
		sbuf_add(&t, ": it is ");
		multiple_text(&t, k, k == 1 ? "the transpose of the right one" : "its transpose");
	}
	mc_clear_error(mc);
	free(cl.why);
	return sbuf_take(&t);
}

/* Checks every link of the chain eq; fills r. False on an error (input that
 * cannot be read or run). */
static bool check_chain(struct session *s, const struct syn *eq, struct verify_report *r)
{
	struct mc *mc = s->mc;
	int n = eq->n;
	/* the problem: the gradient side of G = grad(f, X), else the first term */
	int pi = n == 2 && !is_grad_syn(eq->kids[0]) && is_grad_syn(eq->kids[1]) ? 1 : 0;
	struct expr **terms = mc_xmalloc((size_t)n * sizeof *terms);
	memset(terms, 0, (size_t)n * sizeof *terms);
	bool ok = false;
	r->nlinks = n - 1;
	r->equal = true;
	terms[pi] = session_resolve(s, eq->kids[pi]);
	if (!terms[pi]) {
		free(terms);
		return false;
	}
	int npsyms;
	const struct decl **psyms = syms_of(terms[pi], NULL, &npsyms);
	struct dim_snap sn;
	snap_take(mc, &sn);
	for (int i = 0; i < n; i++) {
		if (i == pi)
			continue;
		int link = pi == 0 ? i : 1;
		/* the term it is compared with: the one before it, or the problem */
		int o = pi == 0 ? i - 1 : pi;
		const struct syn *cs = eq->kids[i];
		int a, b;
		long value;
		terms[i] = session_resolve(s, cs);
		if (!terms[i] && mc->err.kind == MC_ERR_SHAPE) {
			/* the claim cannot be formed with the problem's sizes: wrong, not unreadable */
			snap_restore(mc, &sn);
			struct sbuf t = {0};
			sbuf_printf(&t, "your answer does not fit the problem's sizes: %s",
				    mc->err.msg ? mc->err.msg : "shape error");
			mc_clear_error(mc);
			r->diagnosis = sbuf_take(&t);
			r->kind = DIAG_UNFIT;
			r->equal = false;
			r->link = link;
			break;
		}
		if (!terms[i])
			goto out;
		if (snap_added(mc, &sn, &a, &b, &value)) {
			snap_restore(mc, &sn);
			r->diagnosis = condition_text(s, psyms, npsyms, a, b, value);
			r->kind = DIAG_CONDITION;
			r->equal = false;
			r->link = link;
			break;
		}
		struct dim_snap sn2;
		snap_take(mc, &sn2);
		bool fits = dim_unify(mc, terms[o]->rows, terms[i]->rows) &&
			    dim_unify(mc, terms[o]->cols, terms[i]->cols) &&
			    !snap_added(mc, &sn, &a, &b, &value);
		if (!fits) {
			snap_restore(mc, &sn2);
			r->diagnosis =
			    wrong_shape(s, terms[o], eq->kids[o]->loc, terms[i], cs->loc, r);
			r->equal = false;
			r->link = link;
			free(sn2.d);
			break;
		}
		free(sn2.d);
		int l = pi == 0 ? i - 1 : 0, rr = pi == 0 ? i : 1; /* the link's sides, as written */
		int gside = terms[l]->op == OP_GRAD && (l == 0 || n == 2)	  ? 0
			    : n == 2 && terms[rr]->op == OP_GRAD && pi == 1 ? 1
									    : -1;
		if (!link_numbers(s, terms[l], terms[rr], gside, eq->kids[l]->loc,
				  eq->kids[rr]->loc, psyms, npsyms, r))
			goto out;
		if (!r->equal) {
			r->link = link;
			break;
		}
	}
	if (!r->equal && !r->correct && !r->correct_why && !s->hide_answer && r->link == 1 &&
	    terms[pi]->op == OP_GRAD) {
		/* a claim that could not be compared still learns the right answer */
		struct claim cl = {0};
		struct expr *c = right_answer(s, terms[pi], eq->kids[pi]->loc, &cl);
		if (c) {
			r->correct = print_str(mc, c, PRINT_PLAIN);
			r->correct_latex = print_str(mc, c, PRINT_LATEX);
		}
		mc_clear_error(mc);
		free(cl.why);
	}
	if (!r->equal && n > 2) {
		int l = r->link - 1;
		char *x = source_text(s, eq->kids[l]), *y = source_text(s, eq->kids[l + 1]);
		struct sbuf t = {0};
		sbuf_printf(&t, "%s = %s", x, y);
		r->link_text = sbuf_take(&t);
		free(x);
		free(y);
	}
	r->done = true;
	ok = true;
out:
	snap_restore(mc, &sn);
	free(sn.d);
	free(psyms);
	free(terms);
	return ok;
}

bool verify_claim(struct session *s, const struct syn *problem, const struct syn *claim,
		  struct verify_report *r)
{
	struct syn *kids[2] = {(struct syn *)problem, (struct syn *)claim};
	struct syn eq = {.kind = SYN_EQ, .n = 2, .kids = kids, .loc = claim->loc};
	verify_report_clear(r);
	bool ok = check_chain(s, &eq, r);
	if (!ok)
		verify_report_clear(r);
	return ok;
}

bool verify_check(struct session *s, const struct syn *call)
{
	struct mc *mc = s->mc;
	if (call->n != 1 || call->kids[0]->kind != SYN_EQ)
		return mc_fail_at(mc, MC_ERR_SYNTAX, call->loc,
				  "check takes an equation: check(a = b) or check(grad(f, X) = G)");
	if (!s->check) {
		s->check = mc_xmalloc(sizeof *s->check);
		memset(s->check, 0, sizeof *s->check);
	}
	struct verify_report *r = s->check;
	verify_report_clear(r);
	bool ok = check_chain(s, call->kids[0], r);
	if (!ok) {
		verify_report_clear(r);
		mc_set_loc(mc, call->loc);
		return false;
	}
	verify_report_print(s, r, s->out);
	if (!r->equal)
		status_failed(s);
	return true;
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
